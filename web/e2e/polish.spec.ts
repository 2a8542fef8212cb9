import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Every page as a newcomer meets it, signed out and signed in, at a desktop and a phone size:
// its own title, no console error (no CSP violation, no failing /api/me), no serious or critical
// accessibility violation (axe-core), menus that close on Escape and on their backdrop with
// focus back on their button, a skip link, and nothing wider than the window.

const viewports = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

// watchConsole collects what a page logs as an error, and every 401 answer it gets.
function watchConsole(page: Page) {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() === 401) errors.push(`401 from ${r.url()}`);
  });
  return errors;
}

async function axe(page: Page) {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

// visit opens a page and waits until it has settled: its main heading or landmark is shown and
// no request is in flight.
async function visit(page: Page, path: string, ready: (p: Page) => Promise<void>) {
  await page.goto(path);
  await ready(page);
  await page.waitForLoadState('networkidle');
}

async function checkPage(page: Page, errors: string[], path: string, title: string, viewport: { width: number }) {
  await expect(page).toHaveTitle(title);
  expect(errors, `console errors on ${path}`).toEqual([]);
  expect(await axe(page), `axe on ${path}`).toEqual([]);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  // The message names what sticks out, the outermost first.
  const wide = await page.evaluate((w) => {
    const out: string[] = [];
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.right > w + 0.5 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 0.5)) {
        out.push(`${e.tagName.toLowerCase()}.${[...e.classList].join('.')} right=${Math.round(r.right)} width=${Math.round(r.width)}`);
      }
    }
    return out.slice(0, 8);
  }, viewport.width);
  expect(width, `${path} is ${width}px wide in a ${viewport.width}px window: ${wide.join('; ')}`).toBeLessThanOrEqual(viewport.width);
}

const heading = (name: string | RegExp) => async (p: Page) => {
  await expect(p.getByRole('heading', { name }).first()).toBeVisible();
};

for (const viewport of viewports) {
  test.describe(`at ${viewport.width}×${viewport.height}`, () => {
    test.use({ viewport });

    test('signed-out pages: titles, no console errors or 401s, no serious axe violations, a skip link', async ({ page }) => {
      const errors = watchConsole(page);
      const pages: [string, string, (p: Page) => Promise<void>][] = [
        ['/', 'Live channels — Livehouse', async (p) => expect(p.getByRole('link', { name: 'Log in' })).toBeVisible()],
        ['/login', 'Log in — Livehouse', heading(/sign in|log in/i)],
        ['/register', 'Sign up — Livehouse', async (p) => expect(p.getByRole('button', { name: 'Create account' })).toBeVisible()],
        ['/reset', 'Reset password — Livehouse', async (p) => expect(p.getByRole('button').first()).toBeVisible()],
        ['/nobody_here', 'nobody_here — Livehouse', heading('Channel not found')],
      ];
      for (const [path, title, ready] of pages) {
        // The 404 for an unknown channel is the answer the page shows, not an error.
        await visit(page, path, ready);
        const failures = errors.filter((e) => !(path === '/nobody_here' && e.includes('404')));
        errors.length = 0;
        errors.push(...failures);
        await checkPage(page, errors, path, title, viewport);
      }

      // The skip link is the first stop of the keyboard and moves focus to the content.
      // Wait for the app to have rendered: a Tab pressed before that focuses nothing.
      await visit(page, '/', async (p) => expect(p.getByRole('link', { name: 'Log in' })).toBeVisible());
      const skip = page.getByRole('link', { name: 'Skip to content' });
      await expect(skip).toBeAttached();
      await page.keyboard.press('Tab');
      await expect(skip).toBeFocused();
      await expect(skip).toBeInViewport();
      await page.keyboard.press('Enter');
      await expect(page.locator('#content')).toBeFocused();
    });

    test('signed-in pages: titles, no console errors, no serious axe violations, menus close on Escape, /health fits', async ({ page }) => {
      test.setTimeout(streamBudget);
      const me = uniqueName('pol');
      await signUpVerified(page, me);
      // A short stream, so /health has a session with its charts and events.
      const ffmpeg = await goLive(page, 6);
      await expect.poll(async () => ((await (await page.request.get('/api/me/sessions')).json()) as { sessions: unknown[] }).sessions.length, mediaWait).toBeGreaterThan(0);
      await new Promise<void>((resolve) => (ffmpeg.exitCode !== null ? resolve() : ffmpeg.once('exit', () => resolve())));
      // The session outlives the encoder by the reconnect grace; a page that read the channel
      // live in it asked for a playlist that was gone a moment later (a 404 in the console).
      await expect.poll(async () => ((await (await page.request.get(`/api/channels/${me}`)).json()) as { isLive: boolean }).isLive, mediaWait).toBe(false);

      const errors = watchConsole(page);
      const pages: [string, string, (p: Page) => Promise<void>][] = [
        ['/', 'Live channels — Livehouse', async (p) => expect(p.getByTestId('sidebar-avatar')).toBeVisible()],
        ['/following', 'Following — Livehouse', heading('Following')],
        ['/settings', 'Settings — Livehouse', heading('Settings')],
        ['/manager', 'Stream manager — Livehouse', heading('Stream manager')],
        ['/health', 'Stream health — Livehouse', async (p) => expect(p.getByTestId('stream-event').first()).toBeVisible(mediaWait)],
        [`/${me}`, `${me} — Livehouse`, heading(me)],
        [`/${me}/profile`, `${me} — Livehouse`, async (p) => expect(p.getByTestId('channel-banner')).toBeVisible()],
      ];
      for (const [path, title, ready] of pages) {
        await visit(page, path, ready);
        await checkPage(page, errors, path, title, viewport);
      }

      // The health page's session dropdown closes on Escape, focus back on its button.
      await page.goto('/health');
      const chooser = page.getByRole('button', { name: 'Choose a stream session' });
      await chooser.click();
      await expect(page.getByTestId('stream-session-dropdown')).toBeVisible();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Escape');
      await expect(page.getByTestId('stream-session-dropdown')).toHaveCount(0);
      await expect(chooser).toBeFocused();

      if (viewport.width < 760) {
        // The phone menu: a backdrop behind it; Escape or a tap on the backdrop closes it.
        const toggle = page.getByTestId('floating-menu-toggle');
        const nav = page.getByRole('navigation', { name: 'Main' });
        await toggle.click();
        await expect(nav).toBeInViewport();
        await expect(page.getByTestId('menu-backdrop')).toBeVisible();
        await page.keyboard.press('Tab');
        await page.keyboard.press('Escape');
        await expect(nav).not.toBeInViewport();
        await expect(toggle).toBeFocused();
        await toggle.click();
        await page.getByTestId('menu-backdrop').click({ position: { x: viewport.width - 20, y: 100 } });
        await expect(nav).not.toBeInViewport();
        await expect(page.getByTestId('menu-backdrop')).toHaveCount(0);
        await toggle.click();
      }
      // The profile menu closes on Escape, focus back on the avatar button.
      const avatar = page.getByTestId('sidebar-avatar');
      await avatar.click();
      await expect(page.getByRole('menu')).toBeVisible();
      await page.keyboard.press('Escape');
      await expect(page.getByRole('menu')).toHaveCount(0);
      await expect(avatar).toBeFocused();
    });
  });
}
