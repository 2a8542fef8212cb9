import { expect, test } from '@playwright/test';
import { login, logout, mailLink, password, register, signUpVerified, uniqueName } from './helpers';

// The paths around the emailed links: an unverified login, resending, links used twice, and
// an email change confirmed from the new address.

test('an unverified account is told to verify, can resend, and a used link does not confirm twice', async ({ page }) => {
  const username = uniqueName('unv');
  const email = `${username}@example.com`;
  await register(page, username, email);
  await expect(page.getByRole('heading', { name: 'Verify your account' })).toBeVisible();
  const first = await mailLink(email, 'login');

  await page.getByRole('button', { name: 'Resend' }).click();
  await expect(page.getByText('Verification email has been resent')).toBeVisible();
  const second = await mailLink(email, 'login', [first]);

  await login(page, username);
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByTestId('sidebar-avatar')).toHaveCount(0);
  await page.getByRole('button', { name: 'Resend' }).click();
  await expect(page.getByText('Verification email has been resent')).toBeVisible();
  const third = await mailLink(email, 'login', [first, second]);

  // A resend replaces the earlier links; the newest confirms the account, once.
  await page.goto(first);
  await expect(page.getByText(/Your registration has not been confirmed/)).toBeVisible();
  await page.goto(third);
  await expect(page.getByText('Your registration has been confirmed')).toBeVisible();
  await page.goto(third);
  await expect(page.getByText(/Your registration has not been confirmed/)).toBeVisible();

  await login(page, username);
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();
});

test('a reset link works once and says so afterwards', async ({ page }) => {
  const username = uniqueName('rst');
  const email = await signUpVerified(page, username);
  await logout(page);

  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/reset$/);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Reset your password' })).toBeVisible();
  const link = await mailLink(email, 'reset');

  const next = 'N3xt-pass!';
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill(next);
  await page.getByLabel('Confirm new password').fill(next);
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByText('Your password has been reset')).toBeVisible();

  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('An0ther-pass!');
  await page.getByLabel('Confirm new password').fill('An0ther-pass!');
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page.getByRole('alert')).toContainText('This link is invalid or has expired');

  await login(page, username, next);
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();
});

test('an email change waits for the link sent to the new address', async ({ page }) => {
  const username = uniqueName('eml');
  await signUpVerified(page, username);
  const newEmail = `new_${username}@example.com`;

  await page.goto('/settings');
  await page.getByLabel('New email').fill(newEmail);
  const emailForm = page.locator('form').filter({ has: page.getByLabel('New email') });
  await emailForm.getByLabel('Current password').fill('Wr0ng-pass!');
  await page.getByRole('button', { name: 'Change email' }).click();
  await expect(page.getByText('Incorrect password.')).toBeVisible();
  await emailForm.getByLabel('Current password').fill(password);
  await page.getByRole('button', { name: 'Change email' }).click();
  await expect(page.getByText(`Confirm the change from the link sent to ${newEmail}`)).toBeVisible();

  await page.goto(await mailLink(newEmail, 'login'));
  await expect(page.getByText('Your email has been confirmed')).toBeVisible();

  await page.goto('/settings');
  await expect(page.getByText(newEmail, { exact: true })).toBeVisible();
  await expect(page.getByText(/Confirm the change from the link/)).toHaveCount(0);
  await logout(page);
  await login(page, newEmail);
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();
});
