// The benchmarks' browser: Debian's Chromium, headless, with autoplay allowed, on a live
// channel page that has started playing.
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';

// launch starts the browser; extraArgs adds Chromium flags (fake camera and microphone, say).
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [...chromiumArgs, '--autoplay-policy=no-user-gesture-required', ...extraArgs],
  });
}

// openPlaying opens url in a fresh browser context (nothing cached) and waits until hls.js
// plays it, then for warmupSeconds more. With hlsBase, the page's /hls/ requests go to that
// origin instead (a caching edge, say). The page keeps the player's hls.js errors in
// window.livehouseHlsErrors, for a measurement to report when it cannot sample.
export async function openPlaying(browser, url, warmupSeconds, hlsBase) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    let hls;
    window.livehouseHlsErrors = [];
    Object.defineProperty(window, 'livehouseHls', {
      configurable: true,
      get: () => hls,
      set: (h) => {
        hls = h;
        h.on('hlsError', (_e, d) => window.livehouseHlsErrors.push(`${d.fatal ? 'fatal ' : ''}${d.type}/${d.details}`));
      },
    });
  });
  if (hlsBase) {
    await page.route('**/hls/**', (route) => {
      const u = new URL(route.request().url());
      route.continue({ url: hlsBase + u.pathname + u.search });
    });
  }
  await page.goto(url);
  await page.waitForFunction(() => window.livehouseHls?.playingDate && document.querySelector('video')?.currentTime > 0, null, { timeout: 30_000 });
  await page.waitForTimeout(Number(warmupSeconds) * 1000);
  return page;
}
