import { expect, test, type Page } from '@playwright/test';
import { answerQuiz, goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Stream actions go in-band with the video: the streamer starts them in /manager, and viewers
// see them when their playhead reaches that point of the stream.

async function watch(page: Page, streamer: string) {
  await page.goto(`/${streamer}`);
  const video = page.getByTestId('video');
  await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), mediaWait).toBeGreaterThan(1);
}

test('a streamer runs stream actions and viewers see them in sync with the video', async ({ page, browser }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('acts');
  await signUpVerified(page, streamer);

  // An invalid quiz is refused with the reference's rules, from the API and in the form.
  const bad = async (data: Record<string, unknown>) => {
    const res = await page.request.post('/api/me/stream-actions', { data: { name: 'quiz', data } });
    expect(res.status()).toBe(400);
    return ((await res.json()) as { error: { message: string } }).error.message;
  };
  const quizOf = (answers: string[], duration = 15) => ({ question: 'Capital of Canada?', answers, correctAnswerIndex: 0, duration });
  expect(await bad(quizOf(['Ottawa', 'Toronto']))).toBe('A quiz needs 3 to 5 answers.');
  expect(await bad(quizOf(['Ottawa', 'Toronto', 'Ottawa']))).toBe('Duplicate answer: each answer must be unique.');
  expect(await bad(quizOf(['Ottawa', 'Toronto', 'Calgary'], 40))).toBe('Duration must be between 5 and 30 seconds.');

  const ffmpeg = await goLive(page);
  try {
    const viewer = await (await browser.newContext()).newPage();
    await watch(viewer, streamer);

    await page.goto('/manager');
    for (const name of ['quiz', 'product', 'notice', 'celebration']) {
      await expect(page.getByTestId(`stream-manager-${name}-action-button`)).toBeVisible();
    }
    await expect(page.getByTestId('channel-preview').getByTestId('video')).toBeVisible(mediaWait);

    // The form refuses duplicate answers and a 40 s duration before sending anything.
    await page.getByTestId('stream-manager-quiz-action-button').click();
    const form = page.getByTestId('quiz-stream-action-form');
    await form.getByPlaceholder('Question').fill('What is the capital of Canada?');
    const answers = form.getByPlaceholder('Answer');
    await answers.nth(0).fill('Vancouver');
    await answers.nth(1).fill('Vancouver');
    await answers.nth(2).fill('Calgary');
    await form.getByRole('button', { name: 'Start quiz' }).click();
    await expect(form.getByTestId('stream-action-error')).toHaveText('Duplicate answer: each answer must be unique.');
    await answers.nth(1).fill('Ottawa');
    await form.getByLabel('Duration', { exact: true }).fill('40');
    await form.getByRole('button', { name: 'Start quiz' }).click();
    await expect(form.getByTestId('stream-action-error')).toHaveText('Duration must be between 5 and 30 seconds.');

    // A valid quiz starts; the viewer sees it, answers, and sees the result.
    await form.getByLabel('Duration', { exact: true }).fill('30');
    await form.getByTestId('streamManagerActionQuizFormAnswers-Ottawa-radio-button').check();
    await form.getByRole('button', { name: 'Start quiz' }).click();
    // A viewer who opens the page after the start still sees the quiz: on a narrow screen, in
    // the tab beside chat. It opens right away: the quiz lasts 30 s at the playhead, and
    // joining a stream on a loaded machine can take a good part of that.
    const late = await (await browser.newContext({ viewport: { width: 800, height: 1000 } })).newPage();
    const lateOpened = late.goto(`/${streamer}`);
    await expect(page.getByTestId('success-notification').filter({ hasText: 'Host a quiz started' })).toBeVisible();
    await expect(page.getByTestId('stream-manager-quiz-action-button')).toContainText('Hosting');
    const quiz = viewer.getByTestId('quiz-overlay');
    await expect(quiz).toContainText('What is the capital of Canada?', mediaWait);
    const right = await answerQuiz(quiz, quiz.getByRole('button', { name: 'Ottawa' }));
    expect(right.answers.find((a) => a.text.includes('Ottawa'))?.className).toMatch(/\bcorrect\b/);
    expect(right.status).toBe('Correct!');

    await lateOpened;
    await late.getByRole('tab', { name: 'Quiz & products' }).click();
    const lateQuiz = late.getByRole('tabpanel').getByTestId('quiz-overlay');
    await expect(lateQuiz).toContainText('What is the capital of Canada?', mediaWait);
    const wrong = await answerQuiz(lateQuiz, lateQuiz.getByRole('button', { name: 'Calgary' }));
    expect(wrong.answers.find((a) => a.text.includes('Calgary'))?.className).toMatch(/\bincorrect\b/);
    expect(wrong.status).toBe('Incorrect');

    // Stopping clears it for everyone still showing it.
    await page.getByTestId('stream-manager-quiz-action-button').click();
    await expect(page.getByTestId('stream-manager-quiz-action-button')).toContainText('Host');
    await expect(late.getByTestId('quiz-overlay')).toHaveCount(0, mediaWait);

    // A notice shows as a marquee with its title, and clears when its time is up. Title and
    // message are checked in one look: the notice is on screen for its duration only.
    await page.getByTestId('stream-manager-notice-action-button').click();
    const notice = page.getByTestId('notice-stream-action-form');
    await notice.getByPlaceholder('Title').fill('200k subs');
    await notice.getByPlaceholder('Message').fill('Yay just reached 200k subs, thanks all!');
    await notice.getByLabel('Duration', { exact: true }).fill('10');
    await notice.getByRole('button', { name: 'Show notice' }).click();
    await expect(viewer.getByTestId('notice-overlay')).toContainText(/200k subs.*Yay just reached 200k subs, thanks all!/, mediaWait);
    await expect(viewer.getByTestId('notice-overlay')).toHaveCount(0, mediaWait);

    // A celebration rains confetti (for its 10 s: one look at the overlay and its pieces).
    await page.getByTestId('stream-manager-celebration-action-button').click();
    await expect(page.getByTestId('success-notification').filter({ hasText: 'Trigger a celebration started' })).toBeVisible();
    await expect(viewer.getByTestId('celebration-overlay').locator('.confetti')).toHaveCount(200, mediaWait);

    // A product stays until stopped; Learn more opens its description.
    await page.getByTestId('stream-manager-product-action-button').click();
    const product = page.getByTestId('product-stream-action-form');
    await product.getByLabel('Title').fill('Sneakers');
    await product.getByLabel('Price').fill('$270');
    await product.getByLabel('Image URL').fill('https://example.com/shoes.png');
    await product.getByLabel('Description').fill("Your streamer's favorite sneakers");
    await product.getByRole('button', { name: 'Show product' }).click();
    await expect(page.getByTestId('stream-manager-product-action-button')).toContainText('On');
    const card = viewer.getByTestId('product-overlay');
    await expect(card).toContainText('Sneakers', mediaWait);
    await expect(card).toContainText('$270');
    await card.getByRole('button', { name: 'Learn more' }).click();
    await expect(viewer.getByTestId('modal')).toContainText("Your streamer's favorite sneakers");
    await viewer.getByTestId('modal').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('stream-manager-product-action-button').click();
    await expect(card).toHaveCount(0, mediaWait);

    // The product form was saved with the send, and comes back on reload.
    await page.reload();
    await page.getByTestId('stream-manager-product-action-button').click();
    await expect(page.getByTestId('product-stream-action-form').getByLabel('Title')).toHaveValue('Sneakers');
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
