import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

type HlsProbe = { levels: { height: number }[]; currentLevel: number };

// The level hls.js plays now and the picture height the video element decodes.
function playing(page: Page) {
  return page.evaluate(() => {
    const h = (window as unknown as { livehouseHls?: HlsProbe }).livehouseHls;
    const v = document.querySelector<HTMLVideoElement>('[data-testid="video"]');
    return {
      levels: h?.levels.map((l) => l.height) ?? [],
      level: h && h.currentLevel >= 0 ? h.levels[h.currentLevel].height : 0,
      videoHeight: v?.videoHeight ?? 0,
      time: v?.currentTime ?? 0,
    };
  });
}

// A STANDARD channel (set by the operator command against the running server's data) is
// transcoded: a 640x360 source plays as 360p beside a 160p rung, and hls.js in Chromium
// switches rendition when the viewer forces one in the quality menu, and back.
test('a STANDARD channel offers renditions and the player switches between them', async ({ page, browser, request }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('abr');
  await signUpVerified(page, streamer);
  execFileSync('../bin/livehouse', ['channel', 'set-type', streamer, 'STANDARD'], {
    env: { ...process.env, LIVEHOUSE_DATA_DIR: process.env.E2E_DATA_DIR, LIVEHOUSE_LOG_LEVEL: 'error' },
  });
  const ffmpeg = await goLive(page);
  try {
    const page0 = await (await request.get(`/api/channels/${streamer}`)).json();
    expect(page0.channelId as string).toMatch(/^ch_/);
    const playback = new URL(page0.playbackUrl as string); // carries the viewer's playback token
    // hls.js reads the multivariant playlist once: join when the rung is listed.
    await expect
      .poll(async () => {
        const res = await request.get(playback.pathname + playback.search);
        return res.ok() ? (await res.text()).match(/#EXT-X-STREAM-INF/g)?.length ?? 0 : 0;
      }, mediaWait)
      .toBe(2);

    const viewer = await (await browser.newContext()).newPage();
    await viewer.goto(`/${streamer}`);
    await expect(viewer.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    await expect.poll(async () => (await playing(viewer)).time, mediaWait).toBeGreaterThan(1);
    expect((await playing(viewer)).levels.sort()).toEqual([160, 360]);

    const quality = viewer.getByLabel('Quality');
    await expect(quality.locator('option')).toHaveText(['Auto', '160p', '360p']);
    for (const want of [160, 360]) {
      await quality.selectOption(`${want}p`);
      await expect.poll(async () => (await playing(viewer)).level, mediaWait).toBe(want);
      await expect.poll(async () => (await playing(viewer)).videoHeight, mediaWait).toBe(want);
      const t = (await playing(viewer)).time;
      await expect.poll(async () => (await playing(viewer)).time, mediaWait).toBeGreaterThan(t + 1);
    }
    await expect(viewer.getByRole('alert')).toHaveCount(0);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
