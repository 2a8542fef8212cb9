// Time to first frame on a live channel page in Chromium: for each of TABS fresh tabs (a new
// browser context each, so nothing is cached), the time from the start of navigation to the
// first video frame presented (requestVideoFrameCallback), in milliseconds. On stderr, each
// tab's steps (ms from navigation start; behindEdge: how far the first frame is behind the
// newest part of the first media playlist hls.js read, in ms of media).
// (hlsCreated, levelLoaded: hls.js and its first media playlist; firstPartLoaded/-Buffered and
// firstAudioLoaded/-Buffered: its first video and audio parts loaded and appended; metadata,
// loadeddata, playing: the events of the video it plays into; video: that video in the page.)
// Usage: node bench/first-frame.mjs CHANNEL_URL TABS [OTHER_URL]
// With OTHER_URL (the same page on another build), the two take turns tab by tab, TABS each,
// and the output is [[CHANNEL_URL's figures], [OTHER_URL's]].
// FIRST_FRAME_CPU_SLOWDOWN=N has Chromium run each page N times slower (CDP's CPU throttling):
// a busy machine's effect on the main thread, the same for every tab and every build.
// FIRST_FRAME_TRACE=DIR writes a Chromium performance trace of each tab there (tab-I.json,
// for chrome://tracing or the DevTools performance panel).
import { launch } from './browser.mjs';

const [url, tabs = '10', other] = process.argv.slice(2);
const slowdown = Number(process.env.FIRST_FRAME_CPU_SLOWDOWN ?? 1);
const traceDir = process.env.FIRST_FRAME_TRACE;
const urls = other ? [url, other] : [url];
const browser = await launch();
try {
  const out = [];
  const by = urls.map(() => []);
  for (let i = 0; i < Number(tabs) * urls.length; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (slowdown > 1) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: slowdown });
    }
    if (traceDir) await browser.startTracing(page, { path: `${traceDir}/tab-${i}.json` });
    // Installed before any of the page's scripts run: the first video element's first
    // presented frame, on the page's own clock (0 = navigation start).
    await page.addInitScript(() => {
      // Steps of the start, on the same clock: hls.js created, its first media playlist and
      // main part, the video's metadata; and the first playlist's edge, to tell how far
      // behind it the first frame is.
      const steps = (window.livehouseSteps = {});
      const at = (name) => (steps[name] ??= Math.round(performance.now()));
      let hls;
      Object.defineProperty(window, 'livehouseHls', {
        configurable: true,
        get: () => hls,
        set: (h) => {
          hls = h;
          at('hlsCreated');
          h.on('hlsLevelLoaded', (_e, d) => {
            if (steps.levelLoaded === undefined) steps.edge = d.details.edge;
            at('levelLoaded');
          });
          h.on('hlsFragLoaded', (_e, d) => at(d.frag.type === 'main' ? 'firstPartLoaded' : 'firstAudioLoaded'));
          h.on('hlsFragBuffered', (_e, d) => at(d.frag.type === 'main' ? 'firstPartBuffered' : 'firstAudioBuffered'));
          // The video hls.js plays into, which may not be in the page yet.
          h.on('hlsMediaAttached', (_e, d) => {
            for (const ev of ['loadedmetadata', 'loadeddata', 'playing']) d.media.addEventListener(ev, () => at(ev === 'loadedmetadata' ? 'metadata' : ev), { once: true });
          });
        },
      });
      window.livehouseFirstFrame = new Promise((resolve) => {
        const watch = (v) => {
          v.requestVideoFrameCallback((now, md) => {
            steps.behindEdge = steps.edge === undefined ? null : Math.round((steps.edge - md.mediaTime) * 1000);
            resolve(performance.now());
          });
        };
        new MutationObserver((_, obs) => {
          const v = document.querySelector('video');
          if (v) {
            obs.disconnect();
            at('video');
            watch(v);
          }
        }).observe(document, { childList: true, subtree: true });
      });
    });
    await page.goto(urls[i % urls.length]);
    out.push(
      await page.evaluate(() =>
        Promise.race([window.livehouseFirstFrame, new Promise((_, fail) => setTimeout(() => fail(new Error('no video frame within 30 s')), 30_000))]),
      ),
    );
    // Where the time went, for whoever tunes it (on stderr; stdout carries the figures).
    const steps = await page.evaluate(() => {
      const first = (re) => performance.getEntriesByType('resource').find((e) => re.test(e.name));
      const end = (e) => (e ? Math.round(e.responseEnd) : null);
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        html: nav ? Math.round(nav.responseEnd) : null,
        appScript: end(first(/\/assets\/index-[^/]*\.js/)),
        domContentLoaded: nav ? Math.round(nav.domContentLoadedEventEnd) : null,
        channelApi: end(first(/\/api\/channels\/[^/]+$/)),
        bootScript: end(first(/\/assets\/boot-/)),
        earlyEntry: end(first(/\/assets\/early-/)),
        hlsChunk: end(first(/\/assets\/hls-playback-/)),
        playerChunk: end(first(/\/assets\/Player-/)),
        multivariant: end(first(/\/index\.m3u8/)),
        mediaPlaylist: end(first(/_stream\.m3u8/)),
        ...window.livehouseSteps,
      };
    });
    if (traceDir) await browser.stopTracing();
    by[i % urls.length].push(out[i]);
    console.error(JSON.stringify({ tab: i, url: urls[i % urls.length], firstFrame: Math.round(out[i]), ...steps }));
    await context.close();
  }
  console.log(JSON.stringify(other ? by : out));
} finally {
  await browser.close();
}
