import { expect, type Locator, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const password = 'Passw0rd!x';

// Budgets sized for a loaded machine (two `make test` side by side on 2 cores), where ffmpeg,
// the packager, Chromium and hls.js all run many times slower than alone. Each bounds a wait
// for a real condition, so a passing run never waits it out; it only has to be longer than
// the work on the busiest machine we test on.
// mediaWait: a stream reaching a viewer — ffmpeg starting, the first parts, hls.js joining
// and playing — or a cue reaching a viewer's playhead.
export const mediaWait = { timeout: 60_000 };
// windowWait: a measurement over a stretch of stream (20 s of one-second points, keyframes
// 4 s apart seen by a page that refreshes every 5 s): mediaWait plus that stretch.
export const windowWait = { timeout: 90_000 };
// streamBudget: a test that goes live; ffmpeg publishes for this long at most, so the stream
// outlasts any passing run of the test (test.setTimeout(streamBudget)).
export const streamBudget = 300_000;

// chatConnected waits until the page's chat socket is open (the panel says so with
// aria-busy="false"). Waiting for "connecting…" to be gone is not enough: a page still
// loading shows no chat panel at all, and a message sent before the socket opens is refused.
export async function chatConnected(page: Page, options = mediaWait) {
  await expect(page.getByRole('region', { name: 'Chat' })).toHaveAttribute('aria-busy', 'false', options);
}

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

// signUpVerified makes a verified account and signs the page in through the API, as the web
// app's own forms do (accounts.spec walks those pages; the other specs need an account, not
// its forms again): register, the code mailed to the outbox, sign in. The page ends on the
// home page, signed in.
export async function signUpVerified(page: Page, username: string) {
  const email = `${username}@example.com`;
  const api = page.request;
  const registered = await api.post('/api/auth/register', { data: { username, email, password } });
  expect(registered.status(), await registered.text()).toBe(201);
  const code = new URL(await mailLink(email, 'login')).searchParams.get('code');
  const verified = await api.post('/api/auth/verify', { data: { code } });
  expect(verified.status(), await verified.text()).toBe(200);
  const signedIn = await api.post('/api/auth/login', { data: { username, password } });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  await page.goto('/');
  await expect(page.getByTestId('sidebar-avatar')).toBeVisible();
  return email;
}

export async function logout(page: Page) {
  await page.getByTestId('sidebar-avatar').click();
  await page.getByRole('menuitem', { name: 'Log out' }).click();
  await expect(page.getByRole('link', { name: 'Log in' })).toBeVisible();
}

// publish starts ffmpeg sending a test pattern and tone over RTMP, as OBS would, for at most
// `seconds` (by default as long as a test that goes live may take).
export function publish(url: string, seconds = streamBudget / 1000): ChildProcess {
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
export async function goLive(page: Page, seconds = streamBudget / 1000): Promise<ChildProcess> {
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  return publish(ingest.replace('localhost', '127.0.0.1') + key, seconds);
}

// QuizAnswered is a quiz card as it was drawn the moment an answer was marked.
export type QuizAnswered = {
  answers: { text: string; className: string; color: string; background: string }[];
  status: string;
  background: string; // the card's
};

// answerQuiz clicks one answer of a quiz card and returns the card as drawn when the answer
// was marked. The card closes 2 s after an answer, as the reference's does: checking it with
// one round trip per assertion races that window, which a loaded machine loses. The page
// records the card itself, in the same task that marks the answer.
export async function answerQuiz(quiz: Locator, answer: Locator): Promise<QuizAnswered> {
  await quiz.evaluate((card) => {
    const w = window as unknown as { quizAnswered?: Promise<QuizAnswered> };
    w.quizAnswered = new Promise((resolve, reject) => {
      // Only a failed run waits this out: marking the answer is one render after the click.
      const bound = setTimeout(() => reject(new Error('the quiz did not mark the answer within 60 s of the click being armed')), 60_000);
      const take = () => {
        const status = card.querySelector('[role="status"]');
        if (!status) return false;
        clearTimeout(bound);
        resolve({
          answers: [...card.querySelectorAll('button')].map((b) => ({
            text: b.textContent ?? '',
            className: b.className,
            color: getComputedStyle(b).color,
            background: getComputedStyle(b).backgroundColor,
          })),
          status: status.textContent ?? '',
          background: getComputedStyle(card).backgroundColor,
        });
        return true;
      };
      const seen = new MutationObserver(() => {
        if (take()) seen.disconnect();
      });
      seen.observe(card, { subtree: true, childList: true, attributes: true, characterData: true });
    });
  });
  await answer.click();
  return quiz.page().evaluate(() => (window as unknown as { quizAnswered: Promise<QuizAnswered> }).quizAnswered);
}

// contrastRatio is the WCAG contrast ratio of two CSS rgb() colours.
export function contrastRatio(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
