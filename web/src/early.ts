// The early player entry: the boot script (src/boot.ts) loads it on a channel page, and as soon
// as the boot script's prefetch says the channel is live it starts hls.js on a video element
// of its own, while the app is still loading; the Player puts that video in the page
// (features/channels/lib/hls-playback.ts). It shares no code with the boot script, and none
// with the app's entry beyond what the Player also needs.
import { startEarly } from './features/channels/lib/hls-playback';
import { stripToken } from './features/channels/lib/playback';

void window.livehousePrefetch?.live.then((live) => {
  // The Player gets the same URL and token from the same response (ChannelPage).
  if (live) startEarly(stripToken(live.playbackUrl), live.playbackToken);
});
