import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// playing waits until the channel page's live player has played a second or more.
async function playing(page: Page) {
  await expect(page.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
  const video = page.getByTestId('video');
  await video.evaluate((v: HTMLVideoElement) => {
    v.muted = true;
    return v.play().catch(() => undefined);
  });
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), mediaWait).toBeGreaterThan(1);
}

// mediaURLs follows a playback URL (with its token) to a media playlist and one of its parts
// (or segments), and returns the three URLs without the token, and the token.
async function mediaURLs(request: APIRequestContext, playbackUrl: string) {
  const url = new URL(playbackUrl);
  const token = url.searchParams.get('token') ?? '';
  url.search = '';
  const withToken = (u: URL) => `${u.pathname}?token=${encodeURIComponent(token)}`;
  const master = await request.get(withToken(url));
  expect(master.status()).toBe(200);
  const mediaRel = (await master.text()).split('\n').find((l) => l.trim() && !l.startsWith('#'));
  expect(mediaRel).toBeTruthy();
  const media = new URL(mediaRel!.trim(), url);
  let partRel = '';
  await expect
    .poll(
      async () => {
        const body = await (await request.get(withToken(media))).text();
        partRel = body.match(/#EXT-X-PART:[^\n]*URI="([^"]+)"/)?.[1] ?? body.split('\n').find((l) => l.trim() && !l.startsWith('#'))?.trim() ?? '';
        return partRel;
      },
      { message: 'a part in the media playlist', ...mediaWait },
    )
    .not.toBe('');
  const part = new URL(partRel, media);
  return { playlists: [url.pathname, media.pathname], part: part.pathname, token };
}

// A private channel: its owner switches it private in Settings and goes live; a stranger sees
// no video and every playlist and part is 403 without a token; users the owner allows — by
// name, or who open an invite link — watch.
test('a private channel plays for its owner and the people it allows only', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('priv');
  await signUpVerified(page, streamer);
  await page.goto('/settings');
  const privateBox = page.getByTestId('channel-private');
  await expect(privateBox).toBeEnabled();
  // The box follows the saved setting: it turns checked once the server has answered, so a
  // loaded machine's slow answer is waited for rather than check()'s immediate state test.
  await privateBox.click();
  await expect(page.getByText('Your channel is private')).toBeVisible();
  await expect(privateBox).toBeChecked();
  const ffmpeg = await goLive(page);
  try {
    await page.goto(`/${streamer}`);
    await playing(page);

    // The owner's own token opens the playlists and a part; without it each is 403.
    const own = await (await page.request.get(`/api/channels/${streamer}`)).json();
    expect(own.isPrivate).toBe(true);
    const urls = await mediaURLs(page.request, own.playbackUrl);
    const stranger = await browser.newContext();
    const strangerPage = await stranger.newPage();
    for (const path of [...urls.playlists, urls.part]) {
      expect((await stranger.request.get(path)).status(), `${path} without a token`).toBe(403);
      expect((await stranger.request.get(`${path}?token=forged.token`)).status(), `${path} with a forged token`).toBe(403);
      expect((await stranger.request.get(`${path}?token=${encodeURIComponent(urls.token)}`)).status(), `${path} with the owner's token`).toBe(200);
    }

    // The stranger sees that the channel is private, no video, and no token.
    await strangerPage.goto(`/${streamer}`);
    await expect(strangerPage.getByTestId('private-channel')).toBeVisible();
    await expect(strangerPage.getByTestId('video')).toHaveCount(0);
    const page2 = await (await stranger.request.get(`/api/channels/${streamer}`)).json();
    expect(page2).toMatchObject({ isPrivate: true, mayWatch: false, isLive: false });
    expect(page2.playbackUrl).toBeUndefined();
    const directory = await (await stranger.request.get('/api/channels?live=true')).json();
    expect(directory.channels.map((c: { username: string }) => c.username)).not.toContain(streamer);

    // A user allowed by name watches.
    const friendName = uniqueName('friend');
    const friend = await (await browser.newContext()).newPage();
    await signUpVerified(friend, friendName);
    await friend.goto(`/${streamer}`);
    await expect(friend.getByTestId('private-channel')).toBeVisible();
    await page.goto('/settings');
    await page.getByLabel('Username to allow').fill(friendName);
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await expect(page.getByTestId('allowlist')).toContainText(friendName);
    await friend.goto(`/${streamer}`);
    await playing(friend);

    // A user who opens an invite link watches.
    await page.getByRole('button', { name: 'Create invite link' }).click();
    const link = await page.getByTestId('invite-url').inputValue();
    expect(link).toContain(`/${streamer}/invite/`);
    const guestName = uniqueName('guest');
    const guest = await (await browser.newContext()).newPage();
    await signUpVerified(guest, guestName);
    await guest.goto(new URL(link).pathname);
    await expect(guest).toHaveURL(new RegExp(`/${streamer}$`));
    await playing(guest);
    await page.reload();
    await expect(page.getByTestId('allowlist')).toContainText(guestName);

    // Still nothing for the stranger.
    await strangerPage.reload();
    await expect(strangerPage.getByTestId('private-channel')).toBeVisible();
    await expect(strangerPage.getByTestId('video')).toHaveCount(0);
  } finally {
    ffmpeg.kill('SIGINT');
  }
});
