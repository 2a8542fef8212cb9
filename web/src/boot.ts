// The boot entry: a few kilobytes that index.html loads ahead of the app (async, so it runs as
// soon as it arrives) to start a channel page's network work while the app's JavaScript is
// still loading. See features/channels/lib/prefetch.ts.
import { prefetchChannelPage } from './features/channels/lib/prefetch';

prefetchChannelPage(window.location.pathname, window.location.origin);

// The player's chunk (hls.js) is the largest thing a channel page needs: fetch it now.
const player = document.querySelector<HTMLMetaElement>('meta[name="livehouse-player"]')?.content;
if (window.livehousePrefetch && player) {
  const link = document.createElement('link');
  link.rel = 'modulepreload';
  link.href = player;
  document.head.append(link);
}
