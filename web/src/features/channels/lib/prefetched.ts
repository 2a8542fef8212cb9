// The app's side of the channel page's head start (prefetch.ts, run by the boot script): the
// channel's data for the first query, and the playlists and media for hls.js's first requests.
// Each thing is taken once: later requests go to the network as usual.
import type { Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';
import { startAtLatestIndependentPart } from './live-start';
import type { PrefetchedFile } from './prefetch-types';

// takeChannel returns the prefetched response of GET /api/channels/{username}, the first time
// it is asked for that channel.
export function takeChannel(username: string): Promise<Response> | undefined {
  const p = window.livehousePrefetch;
  if (!p || p.username !== username.toLowerCase()) return undefined;
  const res = p.channel;
  p.channel = undefined;
  return res;
}

// takeFile returns the prefetched playlist, init section or part at url (compared without its
// token). Once the player has taken a media playlist, the prefetch stops following it.
export function takeFile(url: string): PrefetchedFile | undefined {
  const p = window.livehousePrefetch;
  if (!p) return undefined;
  const u = new URL(url, window.location.href);
  u.searchParams.delete('token');
  u.hash = '';
  const file = p.files.get(u.href);
  if (!file) return undefined;
  p.files.delete(u.href);
  return file;
}

// dropPrefetch forgets whatever the player did not take.
export function dropPrefetch() {
  const p = window.livehousePrefetch;
  if (!p) return;
  p.stopped = true;
  p.files.clear();
}

type LoaderClass = new (config: never) => Loader<LoaderContext>;

// prefetchLoader wraps hls.js's loader class (passed in, so that this module does not pull
// hls.js into the app's chunk): a request for a prefetched file is answered from memory, with
// the prefetch's own timings (hls.js estimates bandwidth from them); any other goes to base.
// The first load of a variant's media playlist (one without _HLS_msn) gets an EXT-X-START at
// its newest independent part when that is near the edge (live-start.ts).
export function prefetchLoader<T extends LoaderClass>(base: T): T {
  return class extends (base as LoaderClass) {
    private served = false;
    private cancelled = false;

    load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>) {
      if (context.type === 'level' && !new URL(context.url, window.location.href).searchParams.has('_HLS_msn')) {
        const onSuccess = callbacks.onSuccess;
        callbacks = {
          ...callbacks,
          onSuccess: (res, ...rest) => onSuccess(typeof res.data === 'string' ? { ...res, data: startAtLatestIndependentPart(res.data) } : res, ...rest),
        };
      }
      const file = takeFile(context.url);
      if (!file) {
        super.load(context, config, callbacks);
        return;
      }
      this.served = true;
      this.context = context;
      const stats = this.stats as LoaderStats;
      stats.loading.start = file.start;
      file.data.then(
        (data) => {
          if (this.cancelled) return;
          if ((context.responseType === 'arraybuffer') !== data instanceof ArrayBuffer) {
            // Asked for another type than was fetched: ask the network.
            this.served = false;
            super.load(context, config, callbacks);
            return;
          }
          const size = typeof data === 'string' ? data.length : data.byteLength;
          const end = file.end ?? performance.now();
          stats.loading.first = Math.max(stats.loading.start, end - 1);
          stats.loading.end = end;
          stats.loaded = stats.total = size;
          callbacks.onSuccess({ url: context.url, data }, stats, context, null);
        },
        () => {
          if (this.cancelled) return;
          this.served = false; // the prefetch failed: try the network
          super.load(context, config, callbacks);
        },
      );
    }

    abort() {
      if (this.served) {
        this.cancelled = true;
        (this.stats as LoaderStats).aborted = true;
        return;
      }
      super.abort();
    }

    destroy() {
      this.cancelled = true;
      super.destroy();
    }
  } as unknown as T;
}
