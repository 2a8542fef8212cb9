// Time to first frame on a live channel page in Chromium: for each of TABS fresh tabs (a new
// browser context each, so nothing is cached), the time from the start of navigation to the
// first video frame presented (requestVideoFrameCallback), in milliseconds.
// Usage: node bench/first-frame.mjs CHANNEL_URL TABS
import { launch } from './browser.mjs';

const [url, tabs = '10'] = process.argv.slice(2);
const browser = await launch();
try {
  const out = [];
  for (let i = 0; i < Number(tabs); i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Installed before any of the page's scripts run: the first video element's first
    // presented frame, on the page's own clock (0 = navigation start).
    await page.addInitScript(() => {
      window.livehouseFirstFrame = new Promise((resolve) => {
        const watch = (v) => v.requestVideoFrameCallback(() => resolve(performance.now()));
        new MutationObserver((_, obs) => {
          const v = document.querySelector('video');
          if (v) {
            obs.disconnect();
            watch(v);
          }
        }).observe(document, { childList: true, subtree: true });
      });
    });
    await page.goto(url);
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
        channelApi: end(first(/\/api\/channels\//)),
        playerChunk: end(first(/\/assets\/Player-/)),
        playlist: end(first(/\.m3u8/)),
        init: end(first(/init/)),
        firstMedia: end(first(/\.(m4s|mp4)(\?|$)/)),
      };
    });
    console.error(JSON.stringify({ tab: i, firstFrame: Math.round(out[i]), ...steps }));
    await context.close();
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
