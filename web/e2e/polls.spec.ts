import { expect, test, type Page } from '@playwright/test';
import { chatConnected, goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Polls are tallied by the server and reach every viewer over the chat room: a streamer
// starts one in /manager, two signed-in browsers vote, a third (signed out) sees the same
// tally, and everyone sees the result at the end.

async function tallyOf(page: Page) {
  const card = page.getByTestId('poll-card');
  // The total reads "2 votes", or "2 votes · final" once the poll has ended on a slow machine.
  return [await card.getByTestId('poll-count-0').innerText(), await card.getByTestId('poll-count-1').innerText(), (await card.getByTestId('poll-total').innerText()).replace(' · final', '')];
}

test('a streamer runs a poll; two browsers vote and a third sees the same tally and the result', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('poll');
  await signUpVerified(page, streamer);
  const voters = [];
  for (const prefix of ['pva', 'pvb']) {
    const p = await (await browser.newContext()).newPage();
    await signUpVerified(p, uniqueName(prefix));
    voters.push(p);
  }
  const anon = await (await browser.newContext()).newPage();

  const ffmpeg = await goLive(page);
  try {
    await expect.poll(async () => ((await (await page.request.get(`/api/channels/${streamer}`)).json()) as { isLive: boolean }).isLive, mediaWait).toBe(true);
    for (const p of [...voters, anon]) {
      await p.goto(`/${streamer}`);
      await expect(p.getByTestId('chat-list')).toBeVisible(mediaWait); // chat, which carries the poll's events
      await chatConnected(p);
    }

    // The streamer starts a poll from the stream manager.
    await page.goto('/manager');
    const form = page.getByRole('region', { name: 'Live poll' });
    await form.getByLabel('Poll question').fill('Which map next?');
    await form.getByLabel('Option 1').fill('Forest');
    await form.getByLabel('Option 2').fill('Desert');
    // A minute: long enough for every page to see it and two votes on a loaded machine. The
    // streamer ends it early below (its timer running out is internal/polls' TestExpiry…).
    await form.getByLabel('Poll duration').selectOption('60');
    await form.getByRole('button', { name: 'Start poll' }).click();
    await expect(page.getByText('Host a poll started')).toBeVisible();

    // Everyone sees it; the signed-out viewer is asked to sign in.
    for (const p of [...voters, anon]) {
      await expect(p.getByTestId('poll-card').getByText('Which map next?')).toBeVisible();
    }
    await expect(anon.getByTestId('poll-card').getByText('Sign in to vote.')).toBeVisible();

    // Two votes, one each; a voter cannot vote again.
    await voters[0].getByTestId('poll-option-0').click();
    await voters[1].getByTestId('poll-option-1').click();
    await expect(voters[0].getByTestId('poll-option-1')).toBeDisabled();
    const want = ['1 (50%)', '1 (50%)', '2 votes'];
    for (const p of [...voters, anon]) {
      await expect.poll(() => tallyOf(p)).toEqual(want);
    }
    await expect(page.getByTestId('poll-manager-count-0')).toHaveText('1');
    await expect(page.getByTestId('poll-manager-count-1')).toHaveText('1');

    // The streamer ends it: everyone sees the same final result.
    await page.getByRole('button', { name: 'End poll' }).click();
    for (const p of [...voters, anon]) {
      await expect(p.getByTestId('poll-card').getByText('Poll results')).toBeVisible();
      await expect(p.getByTestId('poll-total')).toHaveText('2 votes · final');
    }
    await expect(page.getByText('Ended · final result')).toBeVisible();
    const late = await anon.request.post(`/api/channels/${streamer}/poll/votes`, { data: { option: 0 } });
    expect(late.status()).toBe(401); // signed out: refused before anything else
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});

test('followers-only chat and slow mode refuse with the chat protocol errors; the owner is exempt', async ({ page, browser }) => {
  const owner = uniqueName('ctl');
  await signUpVerified(page, owner);
  const viewer = await (await browser.newContext()).newPage();
  await signUpVerified(viewer, uniqueName('ctlfan'));

  // The owner turns both on in the stream manager.
  await page.goto('/manager');
  const controls = page.getByRole('region', { name: 'Chat controls' });
  await controls.getByLabel('Followers-only chat').check();
  await expect(page.getByText('Chat settings saved').first()).toBeVisible();
  await controls.getByLabel('Slow mode').selectOption('10');
  await expect.poll(async () => (await (await page.request.get(`/api/channels/${owner}/chat-settings`)).json()) as unknown).toEqual({ followersOnly: true, followersMinutes: 0, slowSeconds: 10 });

  // Another user cannot change them.
  const forged = await viewer.request.put(`/api/channels/${owner}/chat-settings`, { data: { followersOnly: false, followersMinutes: 0, slowSeconds: 0 } });
  expect(forged.status()).toBe(403);

  await viewer.goto(`/${owner}`);
  await chatConnected(viewer);
  const composer = viewer.getByLabel('Chat message');
  await composer.fill('let me in');
  await composer.press('Enter');
  await expect(viewer.getByRole('alert')).toHaveText('This room is in followers-only mode: follow the channel to chat.');
  await expect(viewer.getByTestId('chatline')).toHaveCount(0);

  // Once following, the first message goes out and the next within 10 s is refused.
  await viewer.getByRole('button', { name: 'Follow', exact: true }).click();
  await expect(viewer.getByRole('button', { name: 'Following' })).toBeVisible();
  await composer.fill('first');
  await composer.press('Enter');
  await expect(viewer.getByTestId('chatline').filter({ hasText: 'first' })).toBeVisible();
  await composer.fill('second');
  await composer.press('Enter');
  await expect(viewer.getByRole('alert')).toContainText('This room is in slow mode: one message every 10 seconds.');
  await expect(viewer.getByTestId('chatline').filter({ hasText: 'second' })).toHaveCount(0);

  // The owner is exempt from both.
  await page.goto(`/${owner}`);
  await chatConnected(page);
  const own = page.getByLabel('Chat message');
  for (const text of ['owner one', 'owner two']) {
    await own.fill(text);
    await own.press('Enter');
    await expect(viewer.getByTestId('chatline').filter({ hasText: text })).toBeVisible();
  }
});
