import { expect, test } from '@playwright/test';
import firefoxCore, { type Browser } from 'playwright-core-firefox';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Debian's Firefox ESR, driven over WebDriver BiDi. Playwright's patched Firefox cannot be
// downloaded here, and playwright-core 1.65's BiDi client sends ESR 153 a command it does not
// have (emulation.setMediaFeaturesOverride), so this spec launches Firefox through
// playwright-core 1.56 (the `playwright-core-firefox` alias) and asserts with plain values.
type BidiLauncher = { launch(options: { executablePath: string; headless: boolean }): Promise<Browser> };
const bidiFirefox = (firefoxCore as unknown as { _bidiFirefox: BidiLauncher })._bidiFirefox;

test('a live channel plays in Firefox with hls.js', async ({ page, baseURL }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('fox');
  await signUpVerified(page, streamer);
  const ffmpeg = await goLive(page);
  const firefox = await bidiFirefox.launch({ executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr', headless: true });
  try {
    const viewer = await firefox.newPage();
    expect(await viewer.evaluate(() => navigator.userAgent)).toContain('Firefox/');
    await viewer.goto(`${baseURL}/${streamer}`);
    const state = () =>
      viewer.evaluate(() => {
        const v = document.querySelector<HTMLVideoElement>('[data-testid="video"]');
        const pill = document.querySelector('[data-testid="player"]')?.textContent ?? '';
        return { live: pill.includes('LIVE'), time: v?.currentTime ?? 0, error: v?.error?.code ?? null, alerts: document.querySelectorAll('[role="alert"]').length };
      });
    await expect.poll(async () => (await state()).live, mediaWait).toBe(true);
    await expect.poll(async () => (await state()).time, mediaWait).toBeGreaterThan(1);
    const t1 = (await state()).time;
    await expect.poll(async () => (await state()).time, mediaWait).toBeGreaterThan(t1 + 1);
    const end = await state();
    expect(end.error).toBeNull();
    expect(end.alerts).toBe(0);
    // Played through Media Source Extensions (hls.js), not a native HLS pipeline.
    expect(await viewer.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="video"]')!.src)).toMatch(/^blob:/);
  } finally {
    await firefox.close();
    ffmpeg.kill('SIGKILL');
  }
});
