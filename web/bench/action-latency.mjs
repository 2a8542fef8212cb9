// Stream-action latency in Chromium: open a live channel page, let it play, then start a notice
// through the API SAMPLES times and measure from the request to the notice on screen (which
// shows when the viewer's playhead reaches the media time the action was stamped with).
// Usage: node bench/action-latency.mjs CHANNEL_URL API_BASE TOKEN WARMUP_SECONDS SAMPLES
import { launch, openPlaying } from './browser.mjs';

const [url, api, token, warmup = '20', samples = '20'] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await openPlaying(browser, url, warmup);
  const out = [];
  for (let i = 0; i < Number(samples); i++) {
    const title = `n${i}-${Date.now() % 100000}`;
    const t0 = Date.now();
    const res = await fetch(`${api}/api/me/stream-actions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: 'notice', data: { title, message: 'bench', duration: 5 } }),
    });
    if (res.status !== 201) throw new Error(`start: ${res.status} ${await res.text()}`);
    await page.waitForFunction((t) => document.querySelector('[data-testid="notice-overlay"]')?.textContent?.includes(t), title, { timeout: 20_000, polling: 10 });
    out.push(Date.now() - t0);
    await page.waitForTimeout(1500);
  }
  console.log(JSON.stringify(out));
} finally {
  await browser.close();
}
