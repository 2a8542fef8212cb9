import { expect, test } from '@playwright/test';
import { chatConnected, logout, signUpVerified, uniqueName } from './helpers';

test('two browsers chat; the owner deletes a message and bans the viewer, who cannot come back', async ({ page, browser }) => {
  const owner = uniqueName('chost');
  await signUpVerified(page, owner);
  const viewerPage = await (await browser.newContext()).newPage();
  const viewer = uniqueName('cfan');
  await signUpVerified(viewerPage, viewer);

  await page.goto(`/${owner}`);
  await expect(page.getByText('Moderating')).toBeVisible();
  await viewerPage.goto(`/${owner}`);
  const composer = viewerPage.getByLabel('Chat message');
  await expect(composer).toHaveAttribute('placeholder', 'Say something');

  // Wait until both are connected: a message only reaches connections already open.
  await chatConnected(page);
  await chatConnected(viewerPage);
  await composer.fill('hello from the viewer');
  await composer.press('Enter');
  await expect(viewerPage.getByTestId('chatline').filter({ hasText: 'hello from the viewer' })).toBeVisible();
  const line = page.getByTestId('chatline').filter({ hasText: 'hello from the viewer' });
  await expect(line).toBeVisible();

  // The owner deletes it: everyone sees the placeholder.
  await line.getByRole('button').click();
  await page.getByRole('button', { name: 'Delete message' }).click();
  await expect(page.getByText('Message removed', { exact: true }).first()).toBeVisible();
  await expect(viewerPage.getByTestId('chatline-message-removed')).toHaveCount(1);

  // A second message, then a ban.
  await composer.fill('second message');
  await composer.press('Enter');
  const second = page.getByTestId('chatline').filter({ hasText: 'second message' });
  await second.getByRole('button').click();
  await page.getByRole('button', { name: 'Ban user' }).click();
  await page.getByRole('dialog', { name: 'Ban user' }).getByRole('button', { name: 'Ban user' }).click();
  await expect(page.getByText('User banned from channel')).toBeVisible();
  await expect(page.getByTestId('chatline').filter({ hasText: 'second message' })).toHaveCount(0);
  await expect(viewerPage.getByLabel('Chat message')).toHaveAttribute('placeholder', 'You are banned from this channel');
  await expect(viewerPage.getByLabel('Chat message')).toBeDisabled();

  // After a reload the viewer is still banned: no token, no playback URL.
  await viewerPage.reload();
  await expect(viewerPage.getByLabel('Chat message')).toBeDisabled();
  await expect(viewerPage.getByText('You are banned from this channel').first()).toBeVisible();

  // An anonymous visitor reads but must log in to write.
  await logout(page);
  await page.goto(`/${owner}`);
  await page.getByLabel('Chat message').focus();
  await expect(page).toHaveURL(/\/login$/);
});
