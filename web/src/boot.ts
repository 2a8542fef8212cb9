// The boot entry: a few kilobytes that index.html loads ahead of the app (async, so it runs as
// soon as it arrives) to start a channel page's network work while the app's JavaScript is
// still loading. See features/channels/lib/prefetch.ts.
import { prefetchChannelPage } from './features/channels/lib/prefetch';

prefetchChannelPage(window.location.pathname, window.location.origin);

// On a channel page: the early player entry (src/early.ts), which starts the video as soon as
// the channel is known to be live, before the app has rendered. Its chunks (hls.js) and the
// Player's, which the app loads next, are preloaded all at once (the build names them).
const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
const early = meta('livehouse-early');
if (window.livehousePrefetch && early) {
  for (const href of meta('livehouse-preload')?.split(' ') ?? []) {
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = href;
    document.head.append(link);
  }
  import(/* @vite-ignore */ early).catch(() => undefined); // the Player starts hls.js itself
}
