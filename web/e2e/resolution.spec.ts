import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// rtmppub (internal/media/rtmp/rtmptest) publishes over one RTMP connection and sends a new
// AVC sequence header between clips of different sizes, as OBS does when its canvas changes;
// ffmpeg cannot (its FLV output has one sequence header, and a new size needs a new process,
// i.e. a new connection and a new live session).
let rtmppub = '';
test.beforeAll(() => {
  rtmppub = join(mkdtempSync(join(tmpdir(), 'rtmppub-')), 'rtmppub');
  execFileSync('go', ['build', '-o', rtmppub, './internal/media/rtmp/rtmptest/rtmppub'], { cwd: '..', stdio: 'inherit' });
});

function video(page: Page) {
  return page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="video"]');
    return { time: v?.currentTime ?? 0, height: v?.videoHeight ?? 0, error: v?.error?.message ?? null };
  });
}

test('a stream that changes resolution mid-stream keeps playing', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('res');
  await signUpVerified(page, streamer);
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  // 640x360 and 1280x720 in turn, 8 s each, on one connection.
  const pub: ChildProcess = spawn(rtmppub, ['-url', ingest.replace('localhost', '127.0.0.1') + key,
    '-sizes', '640x360,1280x720', '-clip', '8s', '-for', String(streamBudget / 1000) + 's'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const viewer = await (await browser.newContext()).newPage();
    // hls.js's errors and stalls, for the report of a failing run.
    const log: string[] = [];
    viewer.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log.push(m.text()); });
    await viewer.goto(`/${streamer}`);
    await expect(viewer.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    await viewer.evaluate(() => {
      const w = window as unknown as { livehouseHls?: { on(e: string, f: (e: string, d: { details?: string; fatal?: boolean }) => void): void }; hlsLog?: string[] };
      w.hlsLog = [];
      w.livehouseHls?.on('hlsError', (_e, d) => w.hlsLog?.push(`${d.details} fatal=${d.fatal}`));
    });
    await expect.poll(async () => (await video(viewer)).time, mediaWait).toBeGreaterThan(1);
    // Two changes of size, each followed by playback going on.
    let last = (await video(viewer)).height;
    expect([360, 720]).toContain(last);
    for (let i = 0; i < 2; i++) {
      const from = last;
      await expect.poll(async () => (await video(viewer)).height, mediaWait).not.toBe(from);
      last = (await video(viewer)).height;
      expect([360, 720]).toContain(last);
      const t = (await video(viewer)).time;
      await expect.poll(async () => (await video(viewer)).time, mediaWait).toBeGreaterThan(t + 2);
    }
    expect((await video(viewer)).error).toBeNull();
    await expect(viewer.getByRole('alert')).toHaveCount(0);
    const hlsLog = await viewer.evaluate(() => (window as unknown as { hlsLog?: string[] }).hlsLog ?? []);
    test.info().annotations.push({ type: 'hls.js errors', description: hlsLog.join('; ') || 'none' });
  } finally {
    pub.kill('SIGKILL');
  }
});
