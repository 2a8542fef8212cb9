import { expect, test, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// sendTo starts ffmpeg publishing a test pattern (size) and tone to an rtmps:// URL (FLV; the
// server's generated certificate is not verified) or an srt:// one (MPEG-TS), for at most
// `seconds`.
function sendTo(url: string, size: string, seconds = streamBudget / 1000): ChildProcess {
  const out = url.startsWith('srt://') ? ['-f', 'mpegts', url] : ['-tls_verify', '0', '-f', 'flv', url];
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-x264-params', 'sliced-threads=0',
    '-g', '30', '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1000k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-ar', '48000',
    '-t', String(seconds), ...out,
  ], { stdio: 'ignore' });
}

// ingestURLs reads the streamer's RTMPS and SRT URLs (with the key) from /settings.
async function ingestURLs(page: Page): Promise<{ rtmps: string; srt: string }> {
  await page.goto('/settings');
  const key = await page.locator('#streamKeyValue').inputValue();
  const rtmps = await page.locator('#rtmpsUrl').inputValue();
  const srt = await page.locator('#srtUrl').inputValue();
  expect(rtmps).toMatch(/^rtmps:\/\/[^/]+:\d+\/live\/$/);
  expect(srt).toMatch(/^srt:\/\/[^/?]+:\d+\?streamid=publish:$/);
  const local = (u: string) => u.replace('://localhost:', '://127.0.0.1:');
  return { rtmps: local(rtmps) + key, srt: local(srt) + encodeURIComponent(key) };
}

// watch opens the channel page in a fresh signed-out context and waits until it plays.
async function watch(page: Page, streamer: string) {
  const viewer = await (await page.context().browser()!.newContext()).newPage();
  await viewer.goto(`/${streamer}`);
  const video = viewer.getByTestId('video');
  const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(1);
  const t1 = await currentTime();
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(t1 + 1);
  expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
  return { viewer, video, currentTime };
}

for (const protocol of ['rtmps', 'srt'] as const) {
  test(`a stream published over ${protocol.toUpperCase()} plays in Chromium and stream health shows its encoder configuration`, async ({ page }) => {
    test.setTimeout(streamBudget);
    const streamer = uniqueName(protocol);
    await signUpVerified(page, streamer);
    const urls = await ingestURLs(page);
    const ffmpeg = sendTo(urls[protocol], '640x360');
    try {
      const { viewer } = await watch(page, streamer);
      await viewer.close();
      await page.goto('/health');
      await expect(page).toHaveURL(/\/health\/st-[0-9A-Za-z]{23}$/, mediaWait);
      await expect(page.getByTestId('encoder-videoCodec')).toHaveText(/^avc1\./, mediaWait);
      await expect(page.getByTestId('encoder-resolution')).toHaveText('640x360');
      await expect(page.getByTestId('encoder-audioCodec')).toHaveText('mp4a.40.2');
      await expect(page.getByTestId('encoder-audioSampleRate')).toHaveText('48 kHz');
    } finally {
      ffmpeg.kill('SIGKILL');
    }
  });
}

// Two ffmpeg runs back to back on the same key, 1280x720 then 640x360, within the grace period:
// one session, and a viewer's player keeps playing across the change at the new size.
test('an encoder that reconnects at another resolution keeps the session, and the viewer keeps playing', async ({ page }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('reconn');
  await signUpVerified(page, streamer);
  const urls = await ingestURLs(page);
  const first = sendTo(urls.rtmps, '1280x720');
  let second: ChildProcess | undefined;
  try {
    const { viewer, video, currentTime } = await watch(page, streamer);
    const height = () => video.evaluate((v: HTMLVideoElement) => v.videoHeight);
    await expect.poll(height, mediaWait).toBe(720);
    const sessions = async () => (await (await page.request.get('/api/me/sessions')).json()).sessions as { id: string; isLive: boolean }[];
    const [live] = await sessions();

    first.kill('SIGKILL'); // the encoder drops, and another comes back at once
    second = sendTo(urls.rtmps, '640x360');
    const before = await currentTime();
    await expect.poll(height, mediaWait).toBe(360);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(before + 3);
    expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
    await viewer.close();

    expect((await sessions()).map((s) => [s.id, s.isLive])).toEqual([[live.id, true]]);
    const detail = await (await page.request.get(`/api/me/sessions/${live.id}`)).json();
    const names = (detail.events as { name: string }[]).map((e) => e.name);
    expect(names).toContain('Stream Reconnected');
    expect(names).toContain('Resolution Change');
    expect(names).not.toContain('Session Ended');
  } finally {
    first.kill('SIGKILL');
    second?.kill('SIGKILL');
  }
});
