import { expect, test } from '@playwright/test';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Real-time playback: Chromium plays an RTMP-published channel over WHEP (WebRTC), and falls
// back to LL-HLS when WebRTC cannot connect.
test('a live channel plays in real time over WHEP, and falls back to LL-HLS when WebRTC fails', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('rt');
  await signUpVerified(page, streamer);
  const ffmpeg = await goLive(page);
  try {
    const viewer = await (await browser.newContext()).newPage();
    await viewer.goto(`/${streamer}`);
    await expect(viewer.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);

    // The viewer asks for real time: the page offers WebRTC instead of LL-HLS.
    const whep = viewer.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/api/whep/') && r.request().method() === 'POST');
    const clicked = Date.now();
    await viewer.getByRole('button', { name: 'Real-time' }).click();
    expect((await whep).status()).toBe(201);
    await expect(viewer.getByTestId('realtime-player')).toBeVisible();
    const video = viewer.getByTestId('video');
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), mediaWait).toBe(640);
    console.log(`real-time: first picture ${Date.now() - clicked} ms after the click`);
    const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(0.5);
    const t1 = await currentTime();
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(t1 + 1);
    await expect(viewer.getByRole('button', { name: 'Real-time' })).toHaveAttribute('aria-pressed', 'true');
    await expect(viewer.getByTestId('viewer-count')).toHaveText(/^[1-9]\d* viewers?$/, mediaWait);

    // The choice is kept: a reload plays in real time again, and leaving sends the DELETE.
    const left = viewer.waitForRequest((r) => new URL(r.url()).pathname.startsWith('/api/whep/') && r.method() === 'DELETE');
    await viewer.reload();
    await left;
    await expect(viewer.getByTestId('realtime-player')).toBeVisible(mediaWait);
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.videoWidth), mediaWait).toBe(640);

    // Where WebRTC cannot connect, the page falls back to LL-HLS and says so.
    const blocked = await (await browser.newContext()).newPage();
    await blocked.route('**/api/whep/**', (route) => route.fulfill({ status: 503, body: '' }));
    await blocked.addInitScript(() => window.localStorage.setItem('livehouse.realtime', '1'));
    await blocked.goto(`/${streamer}`);
    await expect(blocked.getByRole('status').filter({ hasText: 'Real-time playback could not connect' })).toBeVisible(mediaWait);
    await expect(blocked.getByTestId('realtime-player')).toHaveCount(0);
    const hlsVideo = blocked.getByTestId('video');
    await expect.poll(() => hlsVideo.evaluate((v: HTMLVideoElement) => v.currentTime), mediaWait).toBeGreaterThan(1);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
