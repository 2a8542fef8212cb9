import { expect, test } from '@playwright/test';
import { mediaWait, publish, signUpVerified, streamBudget, uniqueName } from './helpers';

test('a stream published over RTMP plays on the channel page and lists in the directory', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('live');
  await signUpVerified(page, streamer);
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  expect(ingest).toMatch(/^rtmp:\/\/.+:\d+\/live\/$/);
  const ffmpeg = publish(ingest.replace('localhost', '127.0.0.1') + key);
  try {
    // A viewer, signed out, in a browser of their own.
    const viewer = await (await browser.newContext()).newPage();
    // Every media request carries the viewer's playback token; the beacons renew it.
    const hlsURLs: string[] = [];
    viewer.on('request', (r) => {
      // What hls.js asks for (a redirect the server answers is followed by the browser).
      if (new URL(r.url()).pathname.startsWith('/hls/') && !r.redirectedFrom()) hlsURLs.push(r.url());
    });
    const beacon = viewer.waitForResponse((r) => r.url().endsWith(`/api/channels/${streamer}/views`) && r.request().method() === 'POST');
    await viewer.goto(`/${streamer}`);
    await expect(viewer.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    const video = viewer.getByTestId('video');
    await expect(video).toBeVisible();
    const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(1);
    const t1 = await currentTime();
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(t1 + 1);
    await expect(viewer.getByRole('alert')).toHaveCount(0);
    await expect(viewer.getByTestId('viewer-count')).toHaveText(/^[1-9]\d* viewers?$/, mediaWait);
    expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
    expect((await beacon).status()).toBe(200);
    expect(hlsURLs.length).toBeGreaterThan(3);
    expect(hlsURLs.filter((u) => !new URL(u).searchParams.get('token'))).toEqual([]);

    await viewer.goto('/');
    await expect(viewer.getByTestId('live-grid').getByText(streamer)).toBeVisible();

    // The encoder stops: the channel goes offline.
    ffmpeg.kill('SIGINT');
    await viewer.goto(`/${streamer}`);
    await expect(viewer.getByText(`${streamer} is offline`)).toBeVisible(mediaWait);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
