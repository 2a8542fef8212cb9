// Player latency in Chromium with hls.js: open a live channel page, let it play, then sample
// wall clock minus the program-date-time of the frame being shown (hls.js playingDate).
// Usage: node bench/player-latency.mjs CHANNEL_URL WARMUP_SECONDS SAMPLES [HLS_BASE]
// (HLS_BASE: fetch the stream from that origin instead, e.g. an nginx edge).
import { launch, openPlaying } from './browser.mjs';

const [url, warmup = '60', samples = '30', hlsBase] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await openPlaying(browser, url, warmup, hlsBase);
  const out = [];
  for (let i = 0; i < Number(samples); i++) {
    out.push(await page.evaluate(() => Date.now() - window.livehouseHls.playingDate.getTime()));
    await page.waitForTimeout(1000);
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
