import { expect, test } from '@playwright/test';
import { login, logout, mailLink, password, register, signUpVerified, uniqueName } from './helpers';

test('an account from sign-up to deletion, and sign-up again with the same name and email', async ({ page }) => {
  const username = uniqueName('e2e');
  const email = `${username}@example.com`;

  // Register; the verification link comes by mail.
  await register(page, username, email);
  await expect(page.getByRole('heading', { name: 'Verify your account' })).toBeVisible();
  const verifyLink = await mailLink(email, 'login');
  await page.goto(verifyLink);
  await expect(page.getByText('Your registration has been confirmed')).toBeVisible();
  await expect(page.getByLabel('Username or email')).toHaveValue(username);

  // Log in (by email, in another case).
  await page.getByLabel('Username or email').fill(email.toUpperCase());
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('sidebar-avatar')).toContainText(username);

  // Change the password.
  const second = 'S3cond-pass!';
  await page.goto('/settings');
  await page.getByLabel('Current password', { exact: true }).last().fill(password);
  await page.getByLabel('New password', { exact: true }).fill(second);
  await page.getByLabel('Confirm new password').fill(second);
  await page.getByRole('button', { name: 'Save password' }).click();
  await expect(page.getByRole('dialog', { name: 'Password updated' })).toBeVisible();
  await expect(page.getByText('Your password has been updated.')).toBeVisible();
  await page.getByRole('button', { name: 'Okay' }).click();

  // Log out, then reset the password through the mailed link.
  await logout(page);
  await page.goto('/reset');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByRole('heading', { name: 'Reset your password' })).toBeVisible();
  const resetLink = await mailLink(email, 'reset');
  await page.goto(resetLink);
  const third = 'Th1rd-pass!';
  await page.getByLabel('New password', { exact: true }).fill(third);
  await page.getByLabel('Confirm new password').fill(third);
  await page.getByRole('button', { name: 'Submit' }).click();
  await expect(page).toHaveURL(/\/login/);

  // The old password no longer works; the new one does.
  await login(page, username, second);
  await expect(page.getByRole('alert')).toHaveText('Incorrect username or password');
  await login(page, username, third);
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();

  // Change the username.
  const renamed = uniqueName('ren');
  await page.goto('/settings');
  await page.getByLabel('Username', { exact: true }).fill(renamed);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Username saved')).toBeVisible();
  await expect(page.getByTestId('sidebar-avatar')).toContainText(renamed);

  // Delete the account.
  await page.getByRole('button', { name: 'Delete my account' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete account' });
  await expect(dialog.getByText('Are you sure you would like to delete your account?')).toBeVisible();
  await dialog.getByLabel('Password').fill(third);
  await dialog.getByRole('button', { name: 'Delete account' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText('Your account has been successfully deleted.')).toBeVisible();
  await login(page, renamed, third);
  await expect(page.getByRole('alert')).toHaveText('Incorrect username or password');

  // The original username and the email are free again.
  await register(page, username, email);
  await expect(page.getByRole('heading', { name: 'Verify your account' })).toBeVisible();
});

test('a private page sends a signed-out visitor to log in and back', async ({ page }) => {
  const username = uniqueName('priv');
  await signUpVerified(page, username);
  await logout(page);
  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByRole('heading', { name: 'Account settings' })).toBeVisible();
});

test('registration checks its fields and reports a taken username', async ({ page }) => {
  await page.goto('/register');
  await page.getByLabel('Username').fill('ab');
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password', { exact: true }).fill('short');
  await page.getByLabel('Confirm password').fill('other');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByText('Use 4 to 20 characters with a mix of letters, numbers & symbols.')).toBeVisible();
  await expect(page.getByText('Enter a valid email.')).toBeVisible();
  await expect(page.getByText('Passwords do not match.')).toBeVisible();

  const taken = uniqueName('taken');
  await register(page, taken, `${taken}@example.com`);
  await expect(page.getByRole('heading', { name: 'Verify your account' })).toBeVisible();
  await register(page, taken.toUpperCase(), `other_${taken}@example.com`);
  await expect(page.getByText('This username has been taken.')).toBeVisible();
  await register(page, 'settings', `s_${taken}@example.com`);
  await expect(page.getByText('This username is unavailable.')).toBeVisible();
});
