// Player latency in Chromium with hls.js: open a live channel page, let it play, then sample
// wall clock minus the program-date-time of the frame being shown (hls.js playingDate).
// Usage: node bench/player-latency.mjs CHANNEL_URL WARMUP_SECONDS SAMPLES
import { chromium } from 'playwright-core';

const [url, warmup = '60', samples = '30'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.livehouseHls?.playingDate && document.querySelector('video')?.currentTime > 0, null, { timeout: 30_000 });
  await page.waitForTimeout(Number(warmup) * 1000);
  const out = [];
  for (let i = 0; i < Number(samples); i++) {
    out.push(await page.evaluate(() => Date.now() - window.livehouseHls.playingDate.getTime()));
    await page.waitForTimeout(1000);
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
