import { expect, test } from '@playwright/test';
import { chatConnected, goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// A 40 s session is recorded; once it ends it is listed under the offline channel's player and
// in its Videos tab, plays in hls.js from the VOD playlist, seeks and plays on from there; a
// stream action sent at 20 s shows at 20 s of the recording, a chat line at its moment; its
// owner renames and deletes it.
test('a recorded stream is listed after it ends, plays and seeks', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('vod');
  await signUpVerified(page, streamer);
  const seconds = 40;
  const ffmpeg = await goLive(page, seconds);
  try {
    await page.goto(`/${streamer}`);
    await expect(page.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    // A stream action 20 s in: it is recorded with the video, at its media time. The page
    // joined in the stream's first seconds, so the live player's clock starts with the
    // session's first segment, as the recording's does.
    const live = page.getByTestId('video');
    await expect.poll(() => live.evaluate((v: HTMLVideoElement) => v.currentTime), mediaWait).toBeGreaterThan(20);
    const actionAt = await live.evaluate((v: HTMLVideoElement) => v.currentTime);
    const sent = await page.request.post('/api/me/stream-actions', { data: { name: 'notice', data: { title: 'Recorded notice', message: 'Seen again in the recording', duration: 10 } } });
    expect(sent.status()).toBe(201);
    // A chat line while live: it replays with the recording, at its moment.
    await chatConnected(page);
    const composer = page.getByLabel('Chat message');
    await composer.fill('said while live');
    await composer.press('Enter');
    await expect(page.getByTestId('chatline').filter({ hasText: 'said while live' })).toBeVisible();
    // ffmpeg stops after its seconds: the channel goes offline and the recording is listed.
    await expect(page.getByText(`${streamer} is offline`)).toBeVisible(mediaWait);
    const list = page.getByTestId('video-list');
    await expect(list.getByRole('link')).toHaveCount(1, mediaWait);
    await expect(list.getByTestId('video-duration')).toHaveText(/^0:(3[6-9]|4[01])$/);

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
    const total = await video.evaluate((v: HTMLVideoElement) => v.duration);
    expect(total).toBeGreaterThan(seconds - 4);
    expect(total).toBeLessThan(seconds + 1);
    // The page notes the playhead when the action's overlay appears.
    await video.evaluate((v: HTMLVideoElement) => {
      const w = window as unknown as { noticeAt?: number };
      new MutationObserver(() => {
        if (w.noticeAt === undefined && document.querySelector('[data-testid="notice-overlay"]')) w.noticeAt = v.currentTime;
      }).observe(document.body, { childList: true, subtree: true });
    });
    // Seek to 5 s before the action (near the middle): it plays on from there, and the action
    // replays as the playhead reaches its moment.
    const before = Math.max(1, actionAt - 5);
    await video.evaluate((v: HTMLVideoElement, t: number) => {
      v.currentTime = t;
    }, before);
    await expect.poll(currentTime, mediaWait).toBeGreaterThan(before + 1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
    await expect(viewer.getByTestId('notice-overlay')).toContainText('Recorded notice', mediaWait);
    const noticeAt = await viewer.evaluate(() => (window as unknown as { noticeAt?: number }).noticeAt ?? -1);
    // Sent when the live player showed actionAt, it is stamped on the newest frame the server
    // had: later by the player's latency, never earlier.
    expect(noticeAt).toBeGreaterThan(actionAt - 1);
    expect(noticeAt).toBeLessThan(actionAt + 5);
    // The chat said after the action shows once the playhead passes its moment; back before
    // it, it is not said yet, and it comes again as the playhead reaches its moment.
    const replayed = viewer.getByTestId('replay-line').filter({ hasText: 'said while live' });
    await expect(replayed).toBeVisible(mediaWait);
    const offset = Number(await replayed.getAttribute('data-offset')) / 1000;
    // Said after the action; its offset is taken on the server's clock, the action's on the
    // media's, so they may differ by the ingest's delay.
    expect(offset).toBeGreaterThan(actionAt - 5);
    expect(offset).toBeLessThan(total);
    await video.evaluate((v: HTMLVideoElement, t: number) => {
      v.pause();
      v.currentTime = t;
    }, Math.max(0, offset - 3));
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
