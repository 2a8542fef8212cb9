import type { Loader, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fileKey } from './prefetch';
import type { PrefetchedFile } from './prefetch-types';
import { dropPrefetch, prefetchLoader } from './prefetched';

const origin = window.location.origin;

// A stand-in for hls.js's XHR loader: records what reaches the network and answers it.
const network: string[] = [];
const networkAnswer = { data: 'from network' as string | ArrayBuffer };
class FakeBase implements Loader<LoaderContext> {
  context: LoaderContext | null = null;
  stats: LoaderStats = {
    aborted: false, loaded: 0, retry: 0, total: 0, chunkCount: 0, bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 }, parsing: { start: 0, end: 0 }, buffering: { start: 0, first: 0, end: 0 },
  };
  load(context: LoaderContext, _config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>) {
    network.push(context.url);
    callbacks.onSuccess({ url: context.url, data: networkAnswer.data }, this.stats, context, null);
  }
  abort() {}
  destroy() {}
}

const Loader = prefetchLoader(FakeBase);

function hold(files: Record<string, { data: Promise<string | ArrayBuffer>; start?: number; end?: number }>) {
  const map = new Map<string, PrefetchedFile>();
  for (const [path, f] of Object.entries(files)) map.set(fileKey(path, origin), { url: path, start: f.start ?? 0, end: f.end, data: f.data });
  window.livehousePrefetch = { username: 'alice', files: map, stopped: false, live: Promise.resolve(undefined) };
  return map;
}

function load(url: string, type: string, responseType: string) {
  const loader = new Loader();
  const got: { data?: unknown; stats?: LoaderStats } = {};
  const done = new Promise<void>((resolve) => {
    loader.load({ url, type, responseType } as LoaderContext, {} as LoaderConfiguration, {
      onSuccess: (res, stats) => {
        got.data = res.data;
        got.stats = stats;
        resolve();
      },
      onError: () => resolve(),
      onTimeout: () => resolve(),
    });
  });
  return { loader, got, done };
}

// A live media playlist whose newest segment has one 0.2 s part: hls.js is told to start
// at that part.
const media = `#EXTM3U
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.5
#EXT-X-PART-INF:PART-TARGET=0.2
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-PART:DURATION=0.2,URI="p10.mp4",INDEPENDENT=YES
#EXTINF:2.0,
s1.mp4
#EXT-X-PART:DURATION=0.2,URI="p20.mp4",INDEPENDENT=YES
`;

afterEach(() => {
  network.length = 0;
  networkAnswer.data = 'from network';
  delete window.livehousePrefetch;
});

describe('prefetchLoader', () => {
  it('answers a prefetched part from memory, once, with the prefetch’s timings', async () => {
    const part = new Uint8Array([1, 2, 3, 4]).buffer;
    hold({ '/hls/ch/p20.mp4': { data: Promise.resolve(part), start: 100, end: 150 } });
    const first = load('/hls/ch/p20.mp4?token=abc', 'media-fragment', 'arraybuffer');
    await first.done;
    expect(first.got.data).toBe(part);
    expect(first.got.stats?.loading).toMatchObject({ start: 100, end: 150 });
    expect(first.got.stats?.loaded).toBe(4);
    expect(network).toEqual([]);

    const again = load('/hls/ch/p20.mp4?token=abc', 'media-fragment', 'arraybuffer');
    await again.done;
    expect(network).toEqual(['/hls/ch/p20.mp4?token=abc']);
  });

  it('sends what was not prefetched, or failed, to the network', async () => {
    hold({ '/hls/ch/p21.mp4': { data: Promise.reject(new Error('503')) } });
    await load('/hls/ch/p30.mp4', 'media-fragment', 'arraybuffer').done;
    await load('/hls/ch/p21.mp4', 'media-fragment', 'arraybuffer').done;
    expect(network).toEqual(['/hls/ch/p30.mp4', '/hls/ch/p21.mp4']);
    delete window.livehousePrefetch;
    await load('/hls/ch/p31.mp4', 'media-fragment', 'arraybuffer').done;
    expect(network).toHaveLength(3);
  });

  it('does not answer a load it was told to abort', async () => {
    let arrive: (b: ArrayBuffer) => void = () => undefined;
    hold({ '/hls/ch/p20.mp4': { data: new Promise((r) => (arrive = r)) } });
    const l = load('/hls/ch/p20.mp4', 'media-fragment', 'arraybuffer');
    l.loader.abort();
    arrive(new ArrayBuffer(1));
    await new Promise((r) => setTimeout(r, 0));
    expect(l.got.data).toBeUndefined();
    expect(l.loader.stats.aborted).toBe(true);
  });

  it('has hls.js start a variant at its newest independent part, on its first load only', async () => {
    hold({ '/hls/ch/video1_stream.m3u8': { data: Promise.resolve(media) } });
    const fromMemory = load('/hls/ch/video1_stream.m3u8?token=t', 'level', 'text');
    await fromMemory.done;
    expect(fromMemory.got.data).toMatch(/^#EXTM3U\n#EXT-X-START:TIME-OFFSET=-0\.19900,PRECISE=YES\n/);

    networkAnswer.data = media;
    const fromNetwork = load('/hls/ch/video1_stream.m3u8?token=t', 'level', 'text');
    await fromNetwork.done;
    expect(fromNetwork.got.data).toMatch(/#EXT-X-START:/);

    // Blocking reloads and audio renditions (whose every part is independent; hls.js aligns
    // them with the video) are passed through as they are.
    for (const [url, type] of [['/hls/ch/video1_stream.m3u8?_HLS_msn=2&_HLS_part=1', 'level'], ['/hls/ch/audio2_stream.m3u8', 'audioTrack']]) {
      const l = load(url, type, 'text');
      await l.done;
      expect(l.got.data, url).toBe(media);
    }
  });

  it('forgets what the player did not take when it goes', () => {
    const files = hold({ '/hls/ch/p20.mp4': { data: Promise.resolve(new ArrayBuffer(1)) } });
    dropPrefetch();
    expect(files.size).toBe(0);
    expect(window.livehousePrefetch?.stopped).toBe(true);
  });
});
