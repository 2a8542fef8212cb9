// When the app draws for the first time. On a live channel page the early player (src/early.ts)
// starts the video before the app has rendered, and it and the app share one main thread:
// measured on a page run 4× slower (bench/media -scenario firstframe -cpu-slowdown 4), the
// app's first render took 0.4 s in one task, and the boot script's channel response, then each
// playlist, waited behind it and the app's later renders, so that the video had its first
// picture a second after the page had its player. The app therefore waits, at most
// earlyWithin, until the early video has its first picture (or will not have one): then the
// Player it mounts shows that picture at once.
import type { ChannelPrefetch } from '../features/channels/lib/prefetch-types';

// earlyWithin bounds the wait: a stream slow to answer must not keep the page blank.
export const earlyWithin = 1000;

// beforeFirstRender resolves when the app may render: at once off a channel page; on one when
// the channel is known not to be live or the early video has its first picture (or failed),
// and what also says is done (the Player's chunk), or after earlyWithin.
export function beforeFirstRender(prefetch: ChannelPrefetch | undefined, also?: Promise<unknown>): Promise<void> {
  if (!prefetch) return Promise.resolve();
  return new Promise((resolve) => {
    const t = window.setTimeout(resolve, earlyWithin);
    const done = () => {
      window.clearTimeout(t);
      resolve();
    };
    Promise.all([prefetch.early, also]).then(done, done);
  });
}
