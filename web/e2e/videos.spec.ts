import { expect, test } from '@playwright/test';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// A session is recorded; once it ends it is listed under the offline channel's player and in
// its Videos tab, plays in hls.js from the VOD playlist, seeks to the middle and plays on from
// there; its owner renames and deletes it.
test('a recorded stream is listed after it ends, plays and seeks', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('vod');
  await signUpVerified(page, streamer);
  const seconds = 20;
  const ffmpeg = await goLive(page, seconds);
  try {
    await page.goto(`/${streamer}`);
    await expect(page.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    // A stream action a few seconds in: it is recorded with the video.
    const live = page.getByTestId('video');
    await expect.poll(() => live.evaluate((v: HTMLVideoElement) => v.currentTime), mediaWait).toBeGreaterThan(3);
    const sent = await page.request.post('/api/me/stream-actions', { data: { name: 'notice', data: { title: 'Recorded notice', message: 'Seen again in the recording', duration: 10 } } });
    expect(sent.status()).toBe(201);
    // A chat line while live: it replays with the recording, at its moment.
    await expect(page.getByText('connecting…')).toHaveCount(0, mediaWait);
    const composer = page.getByLabel('Chat message');
    await composer.fill('said while live');
    await composer.press('Enter');
    await expect(page.getByTestId('chatline').filter({ hasText: 'said while live' })).toBeVisible();
    // ffmpeg stops after its seconds: the channel goes offline and the recording is listed.
    await expect(page.getByText(`${streamer} is offline`)).toBeVisible(mediaWait);
    const list = page.getByTestId('video-list');
    await expect(list.getByRole('link')).toHaveCount(1, mediaWait);
    await expect(list.getByTestId('video-duration')).toHaveText(/^0:(1[6-9]|2[01])$/);

    // A viewer, signed out, from the Videos tab.
    const viewer = await (await browser.newContext()).newPage();
    await viewer.goto(`/${streamer}`);
    await viewer.getByRole('link', { name: 'Videos', exact: true }).click();
    await expect(viewer).toHaveURL(new RegExp(`/${streamer}/videos$`));
    await viewer.getByTestId('video-list').getByRole('link').first().click();
    await expect(viewer).toHaveURL(new RegExp(`/${streamer}/videos/st-`));
    const video = viewer.getByTestId('vod-video');
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play().catch(() => undefined);
    });
    const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(1);
    // The stream action replays as the playhead reaches it.
    await expect(viewer.getByTestId('notice-overlay')).toContainText('Recorded notice', mediaWait);
    expect(await currentTime()).toBeGreaterThan(2);
    const total = await video.evaluate((v: HTMLVideoElement) => v.duration);
    expect(total).toBeGreaterThan(seconds - 4);
    expect(total).toBeLessThan(seconds + 1);
    // Seek to the middle: it plays on from there.
    const middle = total / 2;
    await video.evaluate((v: HTMLVideoElement, t: number) => {
      v.currentTime = t;
    }, middle);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(middle + 1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
    // The chat said a few seconds in shows by the middle; back at the start it is not said yet,
    // and it comes again as the playhead reaches its moment.
    const replayed = viewer.getByTestId('replay-line').filter({ hasText: 'said while live' });
    await expect(replayed).toBeVisible();
    const offset = Number(await replayed.getAttribute('data-offset')) / 1000;
    expect(offset).toBeGreaterThan(1);
    expect(offset).toBeLessThan(middle + 1);
    await video.evaluate((v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = 0;
    });
    await expect(replayed).toHaveCount(0);
    await video.evaluate((v: HTMLVideoElement) => v.play().catch(() => undefined));
    await expect(replayed).toBeVisible(mediaWait);
    expect(await currentTime()).toBeGreaterThanOrEqual(offset);
    await expect(viewer.getByRole('alert')).toHaveCount(0);
    // Not the owner: no rename or delete.
    await expect(viewer.getByRole('button', { name: 'Delete' })).toHaveCount(0);

    // The owner renames it, then deletes it.
    await page.getByTestId('video-list').getByRole('link').first().click();
    await page.locator('#videoTitle').fill('My first stream');
    await page.getByRole('button', { name: 'Rename' }).click();
    await expect(page.getByTestId('video-title')).toHaveText('My first stream');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect(page).toHaveURL(new RegExp(`/${streamer}/videos$`));
    await expect(page.getByText('No past broadcasts yet.')).toBeVisible();
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
