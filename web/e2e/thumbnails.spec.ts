import { expect, test } from '@playwright/test';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// A live channel's card in the directory shows its live thumbnail (a JPEG the server made from
// a keyframe), and the channel page's player has it as its poster.
test('a live channel shows its thumbnail on its directory card', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('thumb');
  await signUpVerified(page, streamer);
  const ffmpeg = await goLive(page);
  try {
    const viewer = await (await browser.newContext()).newPage();
    const card = viewer.getByTestId('live-grid').getByTestId('channel-card').filter({ hasText: streamer });
    const thumb = card.getByTestId('channel-thumbnail');
    // The first thumbnail comes from the stream's first keyframe; a card rendered before it
    // shows the banner, so reload until the image has loaded.
    await expect
      .poll(
        async () => {
          await viewer.goto('/');
          await card.waitFor(mediaWait);
          if ((await thumb.count()) === 0) return 0;
          return thumb.evaluate(async (img: HTMLImageElement) => {
            await img.decode().catch(() => undefined);
            return img.complete ? img.naturalWidth : 0;
          });
        },
        { ...mediaWait, intervals: [1000, 2000] },
      )
      .toBeGreaterThan(0);
    expect(await thumb.getAttribute('src')).toBe(`/api/channels/${streamer}/thumbnail.jpg`);
    const res = await viewer.request.get(`/api/channels/${streamer}/thumbnail.jpg`);
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toBe('image/jpeg');
    expect(res.headers()['cache-control']).toBe('public, max-age=30');

    // The channel page: the thumbnail is the player's poster.
    await card.click();
    await expect(viewer.getByTestId('video')).toHaveAttribute('poster', `/api/channels/${streamer}/thumbnail.jpg`, mediaWait);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
