import { expect, test, type Page } from '@playwright/test';
import type { ChildProcess } from 'node:child_process';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// save submits the stream info form and waits for the server's answer (the toast that says so
// lasts 5 s, which a loaded machine can miss).
async function save(page: Page) {
  const saved = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/me' && r.request().method() === 'PATCH');
  await page.getByRole('form', { name: 'Stream info' }).getByRole('button', { name: 'Save stream info' }).click();
  expect((await saved).status()).toBe(200);
}

// A streamer sets a title, category and tags in the stream manager and goes live; a signed-out
// viewer finds the channel by a title word, by a tag and by its category in the directory, and
// sees the title on the channel page, and a new title set during the stream.
test('a streamer sets a title, category and tags; a viewer finds the channel by search and by category', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('disc');
  const word = `zq${Math.random().toString(36).slice(2, 8)}`; // a title word no other run uses
  const tag = `tg${Math.random().toString(36).slice(2, 8)}`;
  const title = `Chess openings ${word} with friends`;
  await signUpVerified(page, streamer);

  await page.goto('/manager');
  const form = page.getByRole('form', { name: 'Stream info' });
  await form.getByLabel('Title').fill(title);
  await form.getByLabel('Category').selectOption({ label: 'Gaming' });
  await form.getByLabel('Tags').fill(`chess, ${tag}`);
  await save(page);

  const ffmpeg = await goLive(page);
  try {
    const viewer = await (await browser.newContext()).newPage();
    const grid = viewer.getByTestId('live-grid');
    const card = grid.getByTestId('channel-card').filter({ hasText: streamer });

    // By a title word, typed in the search box.
    await viewer.goto('/');
    const search = viewer.getByRole('searchbox', { name: 'Search live channels' });
    await search.fill(word.toUpperCase());
    await viewer.getByRole('button', { name: 'Search' }).click();
    await expect(viewer).toHaveURL(new RegExp(`[?&]q=${word.toUpperCase()}`));
    await expect(card).toBeVisible(mediaWait); // once the stream's first part is playable
    await expect(card.getByTestId('stream-title')).toHaveText(title);
    await expect(card.getByText('Gaming')).toBeVisible();
    await expect(grid.getByTestId('channel-card')).toHaveCount(1);

    // By a tag's prefix.
    await search.fill(tag.slice(0, 5));
    await viewer.getByRole('button', { name: 'Search' }).click();
    await expect(card).toBeVisible();

    // A word no channel has.
    await search.fill(`${word}x`);
    await viewer.getByRole('button', { name: 'Search' }).click();
    await expect(viewer.getByText('No live channels match')).toBeVisible();

    // By category: the channel page's category link, then the directory's category menu.
    await viewer.goto('/?category=gaming');
    await expect(viewer.getByRole('heading', { name: 'Live in Gaming' })).toBeVisible();
    await expect(card).toBeVisible();
    await viewer.getByLabel('Category').selectOption({ label: 'Music' });
    await expect(viewer).toHaveURL(/[?&]category=music/);
    await expect(viewer.getByRole('heading', { name: 'Live in Music' })).toBeVisible();
    await expect(card).toHaveCount(0);
    await viewer.getByLabel('Category').selectOption({ label: 'Gaming' });
    await expect(card).toBeVisible();

    // The channel page shows the title; a new title set during the stream replaces it.
    await card.click();
    await expect(viewer).toHaveURL(new RegExp(`/${streamer}$`));
    await expect(viewer.getByTestId('stream-title')).toHaveText(title);
    await expect(viewer.getByRole('link', { name: 'Gaming' })).toHaveAttribute('href', '/?category=gaming');
    await expect(viewer.getByText(tag, { exact: true })).toBeVisible();

    await page.goto('/manager');
    await form.getByLabel('Title').fill(`Endgames now ${word}`);
    await save(page);
    await expect(viewer.getByTestId('stream-title')).toHaveText(`Endgames now ${word}`); // the page refreshes every 5 s
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});

// The directory shows a page at a time: with the API's page size cut to one channel (the
// viewer's requests get limit=1), a search that two live channels match shows one, then the
// other after "Show more" (the next page, asked for with the cursor and the same search), and
// no "Show more" once a page comes without a next.
test('the directory shows more live channels, a page at a time, for the same search', async ({ page, browser, request }) => {
  test.setTimeout(streamBudget);
  const word = `pg${Math.random().toString(36).slice(2, 8)}`; // a title word no other run uses
  const streamers = [uniqueName('pga'), uniqueName('pgb')];
  const pages = [page, await (await browser.newContext()).newPage()];
  const ffmpegs: ChildProcess[] = [];
  try {
    for (const [i, p] of pages.entries()) {
      await signUpVerified(p, streamers[i]);
      await p.goto('/manager');
      await p.getByRole('form', { name: 'Stream info' }).getByLabel('Title').fill(`Paging ${word} ${i}`);
      await save(p);
      ffmpegs.push(await goLive(p));
    }
    // Both are listed once their streams are playable.
    await expect
      .poll(async () => ((await (await request.get(`/api/channels?live=true&q=${word}`)).json()) as { channels: unknown[] }).channels.length, mediaWait)
      .toBe(2);

    const viewer = await (await browser.newContext()).newPage();
    const asked: string[] = [];
    await viewer.route(/\/api\/channels\?live=true/, (route) => {
      const url = new URL(route.request().url());
      url.searchParams.set('limit', '1');
      asked.push(url.search);
      return route.continue({ url: url.toString() });
    });
    await viewer.goto(`/?q=${word}`);
    const cards = viewer.getByTestId('live-grid').getByTestId('channel-card');
    const more = viewer.getByRole('button', { name: 'Show more' });
    await expect(cards).toHaveCount(1);
    await more.click();
    await expect(cards).toHaveCount(2);
    for (const s of streamers) await expect(cards.filter({ hasText: s })).toHaveCount(1);
    // The second page was full, so it has a next: the third is empty and has none.
    await more.click();
    await expect(more).toHaveCount(0);
    await expect(cards).toHaveCount(2);
    const nexts = asked.filter((s) => s.includes('after='));
    expect(nexts.length).toBeGreaterThanOrEqual(2);
    for (const s of nexts) expect(new URLSearchParams(s).get('q')).toBe(word);
  } finally {
    for (const f of ffmpegs) f.kill('SIGKILL');
  }
});
