// The early player entry: the boot script (src/boot.ts) loads it on a channel page, and as soon
// as the boot script's prefetch says the channel is live it starts hls.js on a video element
// of its own, while the app is still loading; the Player puts that video in the page
// (features/channels/lib/hls-playback.ts). It shares no code with the boot script, and none
// with the app's entry beyond what the Player also needs.
import { startEarly } from './features/channels/lib/hls-playback';
import { stripToken } from './features/channels/lib/playback';

const prefetch = window.livehousePrefetch;
void prefetch?.live.then((live) => {
  // The Player gets the same URL and token from the same response (ChannelPage).
  const p = live && startEarly(stripToken(live.playbackUrl), live.playbackToken);
  if (!p) {
    prefetch.earlyDone();
    return;
  }
  // The app renders once the video has its first picture (or cannot have one): until then
  // the main thread is the video's. The video is not in the page yet, so that is loadeddata
  // rather than a presented frame.
  p.video.addEventListener('loadeddata', prefetch.earlyDone, { once: true });
  p.video.addEventListener('error', prefetch.earlyDone, { once: true });
});
