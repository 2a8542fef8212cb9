import { expect, test, type Page } from '@playwright/test';
import { execFile } from 'node:child_process';
import { chromiumArgs, chromiumPath, fakeMediaArgs } from '../chromium.mjs';
import { mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Stages: the host opens one from the stream manager; one guest joins with the invite link,
// another by a request the host accepts; each sees the other over the SFU, a signed-out
// spectator on the channel page sees both; the host's browser broadcasts the grid as the
// channel's stream, which plays over LL-HLS; the host kicks one guest, who is told so.
test.use({ launchOptions: { executablePath: chromiumPath, args: [...chromiumArgs, ...fakeMediaArgs] } });

// volume runs ffmpeg's volumedetect over a few seconds of the channel's LL-HLS stream (its
// audio only), fetched with the playback token, and returns its max and mean in dB (digital
// silence reads -91 dB).
async function volume(page: Page, channel: string): Promise<{ max: number; mean: number }> {
  const ch = await (await page.request.get(`/api/channels/${channel}`)).json();
  const url = new URL(ch.playbackUrl, page.url());
  url.searchParams.delete('token');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'ffmpeg',
      ['-hide_banner', '-nostats', '-headers', `Authorization: Bearer ${ch.playbackToken}\r\n`, '-live_start_index', '-3', '-i', url.toString(), '-t', '4', '-vn', '-af', 'volumedetect', '-f', 'null', '-'],
      { timeout: 60_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(`ffmpeg: ${err.message}\n${stderr}`)) : resolve(stderr)),
    );
  });
  const db = (name: string) => {
    const m = new RegExp(`${name}: (-?[\\d.]+) dB`).exec(out);
    if (!m) throw new Error(`no ${name} in ffmpeg's output:\n${out}`);
    return Number(m[1]);
  };
  return { max: db('max_volume'), mean: db('mean_volume') };
}

// width is the video width of a participant's tile in a page's area (0 until a picture).
function width(page: Page, area: string, username: string) {
  return page.getByTestId(area).locator(`[data-testid="stage-tile"][data-username="${username}"] video`).evaluate((v: HTMLVideoElement) => v.videoWidth).catch(() => 0);
}

test('two guests join a stage (invite and request), see each other, a spectator sees both, the mix plays over LL-HLS, and a kick works', async ({ browser }) => {
  test.setTimeout(streamBudget);
  const hostName = uniqueName('stg');
  const invitedName = uniqueName('inv');
  const requesterName = uniqueName('req');
  const newPage = async () => (await browser.newContext()).newPage();
  const host = await newPage();
  const invited = await newPage();
  const requester = await newPage();
  await signUpVerified(host, hostName);
  await signUpVerified(invited, invitedName);
  await signUpVerified(requester, requesterName);

  await host.goto('/manager');
  const card = host.getByTestId('stage-card');
  await card.getByRole('button', { name: 'Start stage' }).click();
  const link = new URL(await card.getByTestId('stage-invite-link').inputValue());
  expect(link.searchParams.get('stageInvite')).toBeTruthy();

  // The invite path.
  await invited.goto(link.pathname + link.search);
  await invited.getByTestId('stage-watch').getByRole('button', { name: 'Join stage' }).click();
  await expect(invited.getByTestId('stage-room').getByTestId('stage-local')).toBeVisible();

  // The request path: ask, the host accepts, join.
  await requester.goto(`/${hostName}`);
  await requester.getByRole('button', { name: 'Request to join' }).click();
  await expect(requester.getByText('Request sent')).toBeVisible();
  await card.getByTestId('stage-requests').locator(`li[data-username="${requesterName}"]`).getByRole('button', { name: 'Accept' }).click();
  await requester.getByRole('button', { name: 'Join stage' }).click(mediaWait);
  await expect(card.getByTestId('stage-participants').locator('li')).toHaveCount(2, mediaWait);

  // Each sees the other.
  await expect.poll(() => width(invited, 'stage-room', requesterName), mediaWait).toBeGreaterThan(0);
  await expect.poll(() => width(requester, 'stage-room', invitedName), mediaWait).toBeGreaterThan(0);

  // A signed-out spectator sees both on the channel page, and cannot ask to join.
  const spectator = await newPage();
  await spectator.goto(`/${hostName}`);
  await expect.poll(() => width(spectator, 'stage-watch', invitedName), mediaWait).toBeGreaterThan(0);
  await expect.poll(() => width(spectator, 'stage-watch', requesterName), mediaWait).toBeGreaterThan(0);
  await expect(spectator.getByRole('link', { name: 'Sign in to request to join' })).toBeVisible();
  const directory = await newPage();
  await directory.goto('/');
  await expect(directory.getByTestId('channel-card').filter({ hasText: hostName }).getByTestId('stage-pill')).toBeVisible(mediaWait);

  // Into the channel: the host joins, and broadcasts the stage's mix (composed in the host's
  // browser) over WHIP as the channel's stream; LL-HLS viewers watch the grid.
  await card.getByRole('button', { name: 'Join with camera and mic' }).click();
  await expect.poll(() => width(host, 'stage-room', invitedName), mediaWait).toBeGreaterThan(0);

  // A guest shares a screen: a participant of its own, "{name} (screen)", which the host, the
  // other guest and the spectator watch as one more tile; stopping takes it off every grid.
  const screenName = `${invitedName} (screen)`;
  const screenTile = (page: Page, area: string) => page.getByTestId(area).locator(`[data-testid="stage-tile"][data-username="${screenName}"]`);
  await invited.getByTestId('stage-room').getByRole('button', { name: 'Share screen' }).click();
  await expect(invited.getByTestId('stage-local-screen')).toBeVisible(mediaWait);
  await expect.poll(() => width(host, 'stage-room', screenName), mediaWait).toBeGreaterThan(0);
  await expect.poll(() => width(spectator, 'stage-watch', screenName), mediaWait).toBeGreaterThan(0);
  await expect.poll(() => width(requester, 'stage-room', screenName), mediaWait).toBeGreaterThan(0);
  await expect(screenTile(spectator, 'stage-watch')).toHaveAttribute('data-kind', 'screen');
  await expect(spectator.getByTestId('stage-watch').getByTestId('stage-tile')).toHaveCount(4); // 3 cameras and the screen
  await invited.getByTestId('stage-room').getByRole('button', { name: 'Stop sharing' }).click();
  await expect(screenTile(host, 'stage-room')).toHaveCount(0, mediaWait);
  await expect(screenTile(spectator, 'stage-watch')).toHaveCount(0, mediaWait);
  await expect(screenTile(requester, 'stage-room')).toHaveCount(0, mediaWait);
  await expect(invited.getByTestId('stage-local-screen')).toHaveCount(0);
  await expect.poll(() => width(spectator, 'stage-watch', invitedName), mediaWait).toBeGreaterThan(0);
  await card.getByRole('button', { name: 'Broadcast the stage to my channel' }).click();
  await expect.poll(async () => (await (await host.request.get(`/api/channels/${hostName}`)).json()).isLive, mediaWait).toBe(true);
  const hls = await newPage();
  await hls.goto(`/${hostName}`);
  await expect(hls.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
  const hlsVideo = hls.getByTestId('player').getByTestId('video');
  await expect.poll(() => hlsVideo.evaluate((v: HTMLVideoElement) => v.videoWidth), mediaWait).toBe(1280);
  const played = () => hlsVideo.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(played, mediaWait).toBeGreaterThan(1);
  await hls.close();
  // The mix carries sound: the publishers' fake microphones beep, mixed with Web Audio in the
  // host's browser; a few seconds of the LL-HLS audio are well above digital silence.
  const loud = await volume(host, hostName);
  console.log(`stage mix audio over LL-HLS: max_volume ${loud.max} dB, mean_volume ${loud.mean} dB`);
  expect(loud.max, `volumes ${JSON.stringify(loud)}`).toBeGreaterThan(-40);
  expect(loud.mean, `volumes ${JSON.stringify(loud)}`).toBeGreaterThan(-80);

  // The host kicks the requester: told so, and gone from everyone's grid.
  await card.getByRole('button', { name: `Kick ${requesterName}` }).click();
  await expect(requester.getByTestId('stage-message')).toHaveText('You have been kicked by the host.', mediaWait);
  await expect(requester.getByTestId('stage-room')).toHaveCount(0);
  await expect(spectator.getByTestId('stage-watch').locator(`[data-testid="stage-tile"][data-username="${requesterName}"]`)).toHaveCount(0, mediaWait);
  await expect(invited.getByTestId('stage-room').locator(`[data-testid="stage-tile"][data-username="${requesterName}"]`)).toHaveCount(0, mediaWait);
  await expect.poll(() => width(spectator, 'stage-watch', invitedName), mediaWait).toBeGreaterThan(0);

  // The host stops the mix (the channel goes offline) and ends the stage.
  await card.getByRole('button', { name: 'Stop broadcasting the stage' }).click();
  await expect.poll(async () => (await (await host.request.get(`/api/channels/${hostName}`)).json()).isLive, mediaWait).toBe(false);
  await card.getByRole('button', { name: 'End stage' }).click();
  await expect(spectator.getByTestId('stage-watch')).toHaveCount(0, mediaWait);
});
