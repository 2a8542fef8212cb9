import { expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const password = 'Passw0rd!x';

// uniqueName makes a username (≤ 20 characters) no other run has used.
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 1e4)}`.slice(0, 20);
}

const linkRE = /https?:\/\/\S+?\/(?:login|reset)\?code=[^\s"<>]+/;

// mailLink polls the outbox for the newest mail to `to` whose link differs from `skip`, and
// returns that link.
export async function mailLink(to: string, kind: 'login' | 'reset', skip: string[] = []): Promise<string> {
  const dir = join(process.env.E2E_DATA_DIR!, 'outbox');
  let found = '';
  await expect
    .poll(
      () => {
        let files: string[];
        try {
          files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().reverse();
        } catch {
          return '';
        }
        for (const f of files) {
          const text = readFileSync(join(dir, f), 'utf8');
          if (!new RegExp(`^To: .*${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(text)) continue;
          const m = text.match(linkRE);
          if (m && m[0].includes(`/${kind}?`) && !skip.includes(m[0])) {
            found = m[0].replace(/&amp;/g, '&');
            return found;
          }
        }
        return '';
      },
      { message: `a ${kind} link mailed to ${to}`, timeout: 10_000 },
    )
    .not.toBe('');
  return found;
}

export async function register(page: Page, username: string, email: string, pw = password) {
  await page.goto('/register');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(pw);
  await page.getByLabel('Confirm password').fill(pw);
  await page.getByRole('button', { name: 'Create account' }).click();
}

export async function login(page: Page, username: string, pw = password) {
  await page.goto('/login');
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(pw);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// signUpVerified registers and verifies an account through the outbox link, then signs in.
export async function signUpVerified(page: Page, username: string) {
  const email = `${username}@example.com`;
  await register(page, username, email);
  await expect(page.getByRole('heading', { name: 'Verify your account' })).toBeVisible();
  await page.goto(await mailLink(email, 'login'));
  await expect(page.getByText('Your registration has been confirmed')).toBeVisible();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();
  return email;
}

export async function logout(page: Page) {
  await page.getByTestId('sidebar-avatar').click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in' })).toBeVisible();
}

// publish starts ffmpeg sending a test pattern and tone over RTMP, as OBS would, for at most
// `seconds`.
export function publish(url: string, seconds = 90): ChildProcess {
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-x264-params', 'sliced-threads=0',
    '-g', '30', '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1000k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k',
    '-t', String(seconds), '-f', 'flv', url,
  ], { stdio: 'ignore' });
}

// goLive reads the signed-in streamer's ingest URL and key from /settings and starts ffmpeg.
export async function goLive(page: Page, seconds = 90): Promise<ChildProcess> {
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  return publish(ingest.replace('localhost', '127.0.0.1') + key, seconds);
}
