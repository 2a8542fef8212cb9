import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { png } from './images';
import { logout, password, signUpVerified, uniqueName } from './helpers';

// seed runs the operator's seed command against the test server's data dir.
function seed(prefix: string, count: number, live: number) {
  execFileSync('../bin/livehouse', ['seed', prefix, String(count), String(live)], {
    env: { ...process.env, LIVEHOUSE_DATA_DIR: process.env.E2E_DATA_DIR!, LIVEHOUSE_LOG_LEVEL: 'error' },
  });
}

test('a signed-out Follow goes through login and comes back following', async ({ page }) => {
  const streamer = uniqueName('star');
  await signUpVerified(page, streamer);
  await logout(page);
  const fan = uniqueName('fan');
  await signUpVerified(page, fan);
  await logout(page);

  await page.goto(`/${streamer}`);
  await expect(page.getByRole('heading', { name: streamer })).toBeVisible();
  await page.getByRole('button', { name: 'Follow' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Username or email').fill(fan);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/${streamer}$`));
  await expect(page.getByRole('button', { name: 'Following' })).toBeVisible();

  await page.goto('/following');
  await expect(page.getByTestId('following-grid').getByText(streamer)).toBeVisible();
  await page.goto('/');
  await expect(page.getByTestId('followed-user').filter({ hasText: streamer })).toBeVisible();

  // Unfollow from the channel page.
  await page.goto(`/${streamer}`);
  await page.getByRole('button', { name: 'Following' }).click();
  await expect(page.getByRole('button', { name: 'Follow' })).toBeVisible();
});

test('the directory lists live channels, most recent start first', async ({ page }) => {
  const prefix = uniqueName('dir').slice(0, 14);
  seed(prefix, 4, 3); // _1 offline; _2, _3, _4 live, _4 started last
  await page.goto('/');
  const cards = page.getByTestId('live-grid').getByTestId('channel-card').filter({ hasText: prefix });
  await expect(cards).toHaveCount(3);
  await expect(cards).toContainText([`${prefix}_4`, `${prefix}_3`, `${prefix}_2`]);
  await expect(cards.first().getByText('LIVE')).toBeVisible();
  await page.goto(`/${prefix}_1`);
  await expect(page.getByText('Offline', { exact: true })).toBeVisible();
  await page.goto('/no_such_channel_x');
  await expect(page.getByRole('heading', { name: 'Channel not found' })).toBeVisible();
});

test('avatar and banner uploads show on the channel page; bad files are refused', async ({ page }) => {
  const name = uniqueName('pics');
  await signUpVerified(page, name);
  await page.goto('/settings');

  // A text file named .png, and a 10 MB file, are refused with a clear message.
  await page.getByTestId('avatar-file').setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: Buffer.from('I am not a picture') });
  await expect(page.getByRole('alert')).toHaveText('This file is not a JPEG, PNG or WebP image.');
  await page.getByTestId('banner-file').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(10 * 1024 * 1024, 1) });
  await expect(page.getByRole('alert')).toHaveText('Image exceeded max file size');

  await page.getByTestId('avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(300, 200, [200, 40, 90]) });
  await expect(page.getByText('Image uploaded and avatar saved')).toBeVisible();
  await page.getByTestId('banner-file').setInputFiles({ name: 'banner.png', mimeType: 'image/png', buffer: png(1200, 300, [20, 120, 220]) });
  await expect(page.getByText('Profile banner uploaded')).toBeVisible();

  await page.goto(`/${name}/profile`);
  const avatar = page.locator('.channel-header img');
  await expect(avatar).toHaveAttribute('src', /\/api\/assets\/ch_\w+\/avatar\//);
  // Re-encoded server-side: cropped to a square, never scaled up.
  await expect.poll(() => avatar.evaluate((img: HTMLImageElement) => `${img.naturalWidth}x${img.naturalHeight}`)).toBe('200x200');
  const banner = page.getByRole('img', { name: `${name}'s banner` });
  await expect.poll(() => banner.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1200);
});

test('resetting the stream key shows a new key', async ({ page }) => {
  await signUpVerified(page, uniqueName('key'));
  await page.goto('/settings');
  const key = page.locator('#streamKeyValue');
  const before = await key.inputValue();
  expect(before).toMatch(/^sk_/);
  await page.getByRole('button', { name: 'Reset stream key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Reset stream key' });
  await expect(dialog.getByText('Are you sure you would like to reset your stream key?')).toBeVisible();
  await dialog.getByRole('button', { name: 'Reset stream key' }).click();
  await expect(page.getByText('Stream key has been reset')).toBeVisible();
  await expect(key).not.toHaveValue(before);
  await expect(key).toHaveValue(/^sk_\w{40}$/);
});

test('from a user\'s profile, a streamer bans and unbans them from their own channel', async ({ page, browser }) => {
  const fan = uniqueName('pfan');
  const fanPage = await (await browser.newContext()).newPage();
  await signUpVerified(fanPage, fan);
  const streamer = uniqueName('pstar');
  await signUpVerified(page, streamer);

  await page.goto(`/${fan}/profile`);
  await page.getByRole('button', { name: 'Ban from my channel' }).click();
  await expect(page.getByText('User banned from your channel')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Unban from my channel' })).toBeVisible();

  // The fan is banned from the streamer's channel: no playback, no chat.
  await fanPage.goto(`/${streamer}`);
  await expect(fanPage.getByText('You are banned from this channel').first()).toBeVisible();

  await page.getByRole('button', { name: 'Unban from my channel' }).click();
  await expect(page.getByRole('button', { name: 'Ban from my channel' })).toBeVisible();
  await fanPage.reload();
  await expect(fanPage.getByLabel('Chat message')).toHaveAttribute('placeholder', 'Say something');
});
