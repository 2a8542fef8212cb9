import { expect, test, type Locator, type Page } from '@playwright/test';
import { chatConnected, signUpVerified, uniqueName } from './helpers';

// The channel page as a viewer judges it, at a desktop and a phone size: chat beside the
// player from 990 px, below it on narrow screens, and nothing but the viewer scrolls the page.

export const viewports = [
  { width: 1440, height: 900 },
  { width: 390, height: 844 },
];

const frames = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const scrollY = (page: Page) => page.evaluate(() => window.scrollY);
const fromBottom = (list: Locator) => list.evaluate((l) => l.scrollHeight - l.scrollTop - l.clientHeight);

// The server takes at most 10 messages a second from one connection ("Rate exceeded." beyond):
// say spaces the sends 150 ms apart at least. A floor on spacing, not a wait for something to
// happen, so a slow machine only makes it safer.
const spacing = 150;
let lastSend = 0;

async function say(page: Page, text: string, count: number) {
  const wait = lastSend + spacing - Date.now();
  if (wait > 0) await page.waitForTimeout(wait);
  lastSend = Date.now();
  const composer = page.getByLabel('Chat message');
  await composer.fill(text);
  await composer.press('Enter');
  await expect(page.getByTestId('chatline')).toHaveCount(count);
}

for (const viewport of viewports) {
  test.describe(`at ${viewport.width}×${viewport.height}`, () => {
    test.use({ viewport });

    test('chat sits beside the player on wide screens and below on narrow; only the viewer scrolls the page', async ({ page, browser }) => {
      test.setTimeout(120_000);
      const owner = uniqueName('lay');
      await signUpVerified(page, owner);
      await page.goto(`/${owner}`);
      await chatConnected(page);
      const lines = 45;
      for (let i = 1; i <= lines; i++) await say(page, `line ${i}`, i);

      // A fresh viewer gets the history: the page stays at its top, the chat list at its end.
      const viewer = await (await browser.newContext({ viewport })).newPage();
      await viewer.goto(`/${owner}`);
      await expect(viewer.getByTestId('chatline')).toHaveCount(lines);
      await frames(viewer);
      expect(await scrollY(viewer)).toBe(0);
      const list = viewer.getByTestId('chat-list');
      await expect.poll(() => fromBottom(list)).toBeLessThanOrEqual(2);

      const player = (await viewer.getByTestId('player').boundingBox())!;
      const chat = (await viewer.getByRole('region', { name: 'Chat' }).boundingBox())!;
      if (viewport.width >= 990) {
        expect(chat.x).toBeGreaterThanOrEqual(player.x + player.width - 1);
        expect(chat.height).toBeGreaterThanOrEqual(viewport.height - 40); // the window's height
        expect(chat.y + chat.height).toBeLessThanOrEqual(viewport.height);
      } else {
        expect(chat.y).toBeGreaterThanOrEqual(player.y + player.height);
        expect(chat.width).toBeGreaterThanOrEqual(player.width - 1);
      }

      // The viewer scrolls the chat up to read: a new line does not pull them down, a "New
      // messages" button offers the jump, and the page itself never moves.
      await list.evaluate((l) => {
        l.scrollTop = 0;
      });
      await frames(viewer);
      await say(page, 'one more', lines + 1);
      await expect(viewer.getByTestId('chatline')).toHaveCount(lines + 1);
      await frames(viewer);
      expect(await list.evaluate((l) => l.scrollTop)).toBe(0);
      const jump = viewer.getByRole('button', { name: /New messages/ });
      await expect(jump).toBeVisible();
      expect(await scrollY(viewer)).toBe(0);
      // Clicked in the page: Playwright's click would first scroll the page to bring the
      // button into view (at 390×844 it can sit below the fold), and the page's scroll is what
      // this test watches.
      await jump.evaluate((b: HTMLElement) => b.click());
      await expect.poll(() => fromBottom(list)).toBeLessThanOrEqual(2);
      await expect(jump).toHaveCount(0);

      // At the end of the list, new lines keep it there.
      await say(page, 'and another', lines + 2);
      await expect(viewer.getByTestId('chatline')).toHaveCount(lines + 2);
      await expect.poll(() => fromBottom(list)).toBeLessThanOrEqual(2);
      await frames(viewer);
      expect(await scrollY(viewer)).toBe(0);

      // The stream manager opens at its top too, its chat history loaded.
      await page.goto('/manager');
      await expect(page.getByTestId('chatline')).toHaveCount(lines + 2);
      await frames(page);
      expect(await scrollY(page)).toBe(0);
      await expect(page.getByRole('heading', { name: 'Stream manager' })).toBeInViewport();
    });

    test('chat has times, a Send button, the reference’s messages, a Cancel, a 5 s Moderating pill; a ban removes history for good', async ({ page, browser }) => {
      test.setTimeout(120_000);
      const owner = uniqueName('cht');
      await signUpVerified(page, owner);
      const fan = await (await browser.newContext({ viewport })).newPage();
      const viewer = uniqueName('fan');
      await signUpVerified(fan, viewer);

      // The pill lives 5 s from its first render: on a busy machine that can pass before the
      // first check after goto, so the page notes when it came and went.
      await page.addInitScript(() => {
        const w = window as unknown as { pill: { shown?: number; gone?: number } };
        w.pill = {};
        new MutationObserver(() => {
          const on = [...document.querySelectorAll('.pill')].some((e) => e.textContent === 'Moderating');
          if (on && w.pill.shown === undefined) w.pill.shown = performance.now();
          if (!on && w.pill.shown !== undefined && w.pill.gone === undefined) w.pill.gone = performance.now();
        }).observe(document, { subtree: true, childList: true, characterData: true });
      });
      const pillTimes = () => page.evaluate(() => (window as unknown as { pill: { shown?: number; gone?: number } }).pill);
      await page.goto(`/${owner}`);
      const pill = page.getByText('Moderating', { exact: true });
      await expect.poll(async () => (await pillTimes()).shown !== undefined).toBe(true);
      await fan.goto(`/${owner}`);
      await chatConnected(page);
      await chatConnected(fan);

      // Send with the button; every line carries its time.
      await fan.getByLabel('Chat message').fill('hello with the button');
      await fan.getByRole('button', { name: 'Send' }).click();
      const line = page.getByTestId('chatline').filter({ hasText: 'hello with the button' });
      await expect(line).toBeVisible();
      await expect(line.locator('time')).toHaveText(/^\d{1,2}[:.]\d{2}/);
      await expect(line.locator('time')).toHaveAttribute('datetime', /^\d{4}-\d{2}-\d{2}T/);

      // Over 500 characters: the reference's message, and nothing is sent.
      await fan.getByLabel('Chat message').fill('x'.repeat(501));
      await expect(fan.getByText('Max message length reached.')).toBeVisible();
      await expect(fan.getByRole('button', { name: 'Send' })).toBeDisabled();
      await fan.getByLabel('Chat message').press('Enter');
      await fan.getByLabel('Chat message').fill('second line');
      await expect(fan.getByText('Max message length reached.')).toHaveCount(0);
      await fan.getByRole('button', { name: 'Send' }).click();
      await expect(page.getByTestId('chatline')).toHaveCount(2);

      // The moderation dialog has a Cancel that changes nothing.
      await line.getByRole('button').click();
      const dialog = page.getByRole('dialog', { name: 'Moderate message' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await expect(dialog).toHaveCount(0);
      await expect(line).toBeVisible();

      // The Moderating pill has gone after its 5 s.
      await expect(pill).toHaveCount(0, { timeout: 15_000 });
      const { shown, gone } = await pillTimes();
      expect(gone! - shown!).toBeGreaterThanOrEqual(4_500);

      // Ban the fan: their lines go, and stay gone for a fresh visitor and after a reload.
      await line.getByRole('button').click();
      await page.getByRole('button', { name: 'Ban user' }).click();
      await page.getByRole('dialog', { name: 'Ban user' }).getByRole('button', { name: 'Ban user' }).click();
      await expect(page.getByText('User banned from channel')).toBeVisible();
      await expect(page.getByTestId('chatline')).toHaveCount(0);
      await say(page, 'after the ban', 1);
      for (const p of [page, await (await browser.newContext({ viewport })).newPage()]) {
        if (p === page) await p.reload();
        else await p.goto(`/${owner}`);
        await expect(p.getByTestId('chatline').filter({ hasText: 'after the ban' })).toBeVisible();
        await frames(p);
        await expect(p.getByTestId('chatline')).toHaveCount(1);
      }
    });
  });
}
