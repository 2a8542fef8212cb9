// Player latency in Chromium with hls.js: open a live channel page, let it play, then sample
// wall clock minus the program-date-time of the frame being shown (hls.js playingDate), once
// a second.
// Usage: node bench/player-latency.mjs CHANNEL_URL WARMUP_SECONDS SAMPLES [JOINS [HLS_BASE...]]
// Each join is a fresh page (a viewer arriving). With HLS_BASEs, every join is made once per
// base, the bases taking turns, the page's HLS requests sent to that origin (an edge, another
// node); "-" is the page's own origin. Prints a JSON array, one entry per base, of the joins'
// samples in milliseconds; a sample taken while hls.js had no playingDate is null, and such a
// join is described on stderr with the player's errors.
import { launch, openPlaying } from './browser.mjs';

const [url, warmup = '60', samples = '30', joins = '1', ...bases] = process.argv.slice(2);
if (bases.length === 0) bases.push('-');
const browser = await launch();
try {
  const out = bases.map(() => []);
  for (let j = 0; j < Number(joins); j++) {
    for (const [i, base] of bases.entries()) {
      const page = await openPlaying(browser, url, warmup, base === '-' ? undefined : base);
      const got = [];
      for (let k = 0; k < Number(samples); k++) {
        if (k > 0) await page.waitForTimeout(1000);
        got.push(await page.evaluate(() => {
          const at = window.livehouseHls?.playingDate;
          return at ? Date.now() - at.getTime() : null;
        }));
      }
      if (got.includes(null)) {
        const errors = await page.evaluate(() => window.livehouseHlsErrors);
        console.error(`player-latency: ${base}, join ${j + 1}: no playingDate in ${got.filter((v) => v === null).length} of ${got.length} samples; hls.js errors: ${errors.join(', ') || 'none'}`);
      }
      out[i].push(got);
      await page.context().close();
    }
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
