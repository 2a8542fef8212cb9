import { expect, test } from '@playwright/test';
import { goLive, signUpVerified, uniqueName } from './helpers';

// A viewer opening a live channel starts at the live edge: hls.js gets the playlists the boot
// script fetched ahead of the app (nothing asked twice), starts before the app has rendered
// the page (on a video element the Player then shows), loads from the newest independent part
// rather than an older keyframe, and its first frame is near the newest part of the playlist
// it started from. Measured on hls.js's own timeline, not the machine's speed.

type Start = {
  edge: number; // the first media playlist's newest part ends here (s)
  independent: number; // and its newest independent part starts here
  holdBack: number;
  partTarget: number;
  firstLoad: number; // where the first main part or segment hls.js loaded starts
  firstFrame: number; // the media time of the first frame presented
  created: number; // performance.now() when hls.js was created
  levelLoading: number; // and when it first wanted a media playlist
  attachedInPage: boolean; // whether the video was in the page when hls.js attached to it
  shownVideo: boolean; // whether the video in the page is the one hls.js attached to
};

declare global {
  interface Window {
    livehouseStart?: Promise<Start>;
  }
}

test('a viewer starts at the live edge from the newest independent part, with the playlists fetched ahead', async ({ page, browser }) => {
  test.setTimeout(120_000);
  const streamer = uniqueName('edge');
  await signUpVerified(page, streamer);
  const ffmpeg = await goLive(page, 100);
  try {
    // Wait until the stream has a few segments, as a viewer arriving mid-stream finds it (the
    // channel is live from the encoder's first messages, before its first segment is whole).
    await expect
      .poll(async () => (await (await page.request.get(`/api/channels/${streamer}`)).json()).isLive, { timeout: 30_000 })
      .toBe(true);
    const playback = new URL((await (await page.request.get(`/api/channels/${streamer}`)).json()).playbackUrl as string);
    const withToken = (u: URL) => `${u.pathname}?token=${encodeURIComponent(playback.searchParams.get('token') ?? '')}`;
    const mediaRel = (await (await page.request.get(withToken(playback))).text()).split('\n').find((l) => l.trim() && !l.startsWith('#'));
    expect(mediaRel, 'a media playlist in the multivariant playlist').toBeTruthy();
    const mediaPlaylist = withToken(new URL(mediaRel!.trim(), playback));
    await expect
      .poll(async () => (await (await page.request.get(mediaPlaylist)).text()).match(/#EXTINF/g)?.length ?? 0, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(3);
    const viewerPage = async () => {
      const viewer = await (await browser.newContext()).newPage();
      await viewer.addInitScript(() => {
        type Part = { start: number; independent: boolean };
        type Details = { edge: number; partHoldBack: number; partTarget: number; partList: Part[] | null };
        type Hls = { on: (event: string, fn: (e: string, data: never) => void) => void; media: HTMLMediaElement | null };
        let hls: Hls | undefined;
        window.livehouseStart = new Promise((resolve) => {
          let first: Omit<Start, 'firstLoad' | 'firstFrame' | 'created' | 'levelLoading' | 'attachedInPage' | 'shownVideo'> | undefined;
          let attachedInPage: boolean | undefined;
          let created = 0;
          let levelLoading = 0;
          let firstLoad: number | undefined;
          Object.defineProperty(window, 'livehouseHls', {
            configurable: true,
            get: () => hls,
            set: (h: Hls) => {
              hls = h;
              created = performance.now();
              h.on('hlsMediaAttaching', (_e, d: { media: HTMLMediaElement }) => {
                attachedInPage ??= d.media.isConnected;
              });
              h.on('hlsLevelLoading', () => {
                levelLoading ||= performance.now();
              });
              h.on('hlsLevelLoaded', (_e, d: { details: Details }) => {
                if (first || !d.details.partList) return;
                const independent = Math.max(...d.details.partList.filter((p) => p.independent).map((p) => p.start));
                first = { edge: d.details.edge, independent, holdBack: d.details.partHoldBack, partTarget: d.details.partTarget };
              });
              h.on('hlsFragLoading', (_e, d: { frag: { type: string; sn: number | 'initSegment'; start: number }; part?: { start: number } | null }) => {
                if (firstLoad !== undefined || d.frag.type !== 'main' || d.frag.sn === 'initSegment') return;
                firstLoad = d.part ? d.part.start : d.frag.start;
              });
            },
          });
          new MutationObserver((_, obs) => {
            const v = document.querySelector('video');
            if (!v) return;
            obs.disconnect();
            v.requestVideoFrameCallback((_now, md) =>
              resolve({ ...first!, firstLoad: firstLoad!, firstFrame: md.mediaTime, created, levelLoading, attachedInPage: attachedInPage!, shownVideo: hls?.media === v }),
            );
          }).observe(document, { childList: true, subtree: true });
        });
      });
      return viewer;
    };

    // A few fresh viewers: each lands at another point of the stream's GOP.
    for (let i = 0; i < 3; i++) {
      const viewer = await viewerPage();
      const hlsRequests: string[] = [];
      viewer.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname.startsWith('/hls/')) hlsRequests.push(u.pathname + (u.searchParams.has('_HLS_msn') ? '?blocking' : ''));
      });
      await viewer.goto(`/${streamer}`);
      const start = await viewer.evaluate(() => window.livehouseStart!);
      const at = JSON.stringify(start);
      expect(start.edge, at).toBeGreaterThan(0);
      // hls.js loaded from the newest independent part (a keyframe), not an older one...
      expect(start.firstLoad, at).toBeGreaterThanOrEqual(start.independent - 0.001);
      // ...and the first frame is at most PART-HOLD-BACK and two parts behind the newest
      // part of that playlist (a little more where audio and video start a frame apart).
      expect(start.edge - start.firstFrame, at).toBeLessThan(start.holdBack + 2 * start.partTarget + 0.05);
      expect(start.firstFrame, at).toBeGreaterThanOrEqual(start.independent - 0.1);
      // hls.js started on a video of its own before the app had drawn the page, and that video
      // is the one shown.
      expect(start.attachedInPage, at).toBe(false);
      expect(start.shownVideo, at).toBe(true);
      // The playlists were fetched ahead of the player, and nothing was asked twice: the
      // multivariant and the video playlist went out once each (the boot script's requests;
      // hls.js took them from it), the first before hls.js existed, the second before hls.js
      // wanted it; the rest as blocking reloads.
      const plain = await viewer.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => /\/hls\/.*(index|video\d*_stream)\.m3u8$/.test(new URL(e.name).pathname) && !new URL(e.name).searchParams.has('_HLS_msn'))
          .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime })),
      );
      const list = `${at}\n${JSON.stringify(plain)}\n${hlsRequests.join('\n')}`;
      expect(plain.filter((r) => r.path.endsWith('/index.m3u8')), list).toHaveLength(1);
      expect(plain.filter((r) => /video\d*_stream\.m3u8$/.test(r.path)), list).toHaveLength(1);
      expect(plain.find((r) => r.path.endsWith('/index.m3u8'))!.start, list).toBeLessThan(start.created);
      expect(plain.find((r) => r.path.endsWith('_stream.m3u8'))!.start, list).toBeLessThanOrEqual(start.levelLoading);
      await viewer.context().close();
    }
  } finally {
    ffmpeg.kill('SIGINT');
  }
});
