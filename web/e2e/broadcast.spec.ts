import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromiumArgs, chromiumPath, fakeMediaArgs } from '../chromium.mjs';
import { mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// Chromium's fake camera and microphone, no permission prompts, and the whole (virtual) screen
// picked for getDisplayMedia without a picker.
test.use({ launchOptions: { executablePath: chromiumPath, args: [...chromiumArgs, ...fakeMediaArgs, '--auto-select-desktop-capture-source=Entire screen'] } });
test.setTimeout(streamBudget);

// sessionEvents reads the channel's stream sessions and their events from the server's database.
function sessionEvents(channelId: string): { names: string[]; details: string[] }[] {
  const db = join(process.env.E2E_DATA_DIR ?? '', 'livehouse.db');
  const rows = execFileSync('sqlite3', ['-json', db,
    `SELECT s.id AS session, e.name AS name, e.detail AS detail FROM stream_sessions s JOIN stream_events e ON e.session_id = s.id
     WHERE s.channel_id = '${channelId.replace(/'/g, "''")}' AND e.type <> 'IVS Recording State Change' ORDER BY s.created_at, e.seq`], { encoding: 'utf8' });
  const out = new Map<string, { names: string[]; details: string[] }>();
  for (const r of (rows.trim() ? JSON.parse(rows) : []) as { session: string; name: string; detail: string }[]) {
    const s = out.get(r.session) ?? { names: [], details: [] };
    s.names.push(r.name);
    s.details.push(r.detail);
    out.set(r.session, s);
  }
  return [...out.values()];
}

// playing waits until the channel page's player advances by more than a second.
async function playing(viewer: Page) {
  const video = viewer.getByTestId('video');
  const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(0.5);
  const t1 = await currentTime();
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(t1 + 1);
  expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
}

test('go live from /manager with camera and microphone, share the screen, end the stream', async ({ page, browser }) => {
  const streamer = uniqueName('web');
  await signUpVerified(page, streamer);
  const channelId = await page.evaluate(async () => (await (await fetch('/api/me')).json()).channel.id as string);

  // "Go live from web" in the settings opens the stream manager with the preview.
  await page.goto('/settings');
  await page.getByRole('link', { name: 'Go live from web' }).click();
  await expect(page).toHaveURL(/\/manager$/);
  const card = page.getByTestId('broadcast-card');
  const preview = card.getByTestId('broadcast-preview');
  // The preview is the composed 720p picture that will be sent.
  await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.videoWidth), mediaWait).toBe(1280);
  await expect(preview).toHaveJSProperty('videoHeight', 720);

  await card.getByRole('button', { name: 'Start stream' }).click();
  await expect(card.getByTestId('broadcast-live')).toHaveText('LIVE', mediaWait);

  // A viewer, signed out, in a browser context of their own, watches the channel.
  const viewer = await (await browser.newContext()).newPage();
  await viewer.goto(`/${streamer}`);
  await expect(viewer.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
  await playing(viewer);
  // The stream carries the microphone as an audio rendition (AAC, or Opus with webrtc_hls_audio=opus).
  const multivariant = await viewer.evaluate(async (name) => {
    const { playbackUrl } = await (await fetch(`/api/channels/${name}`)).json(); // with a playback token
    return (await fetch(playbackUrl)).text();
  }, streamer);
  expect(multivariant).toMatch(/TYPE=AUDIO/);
  expect(multivariant).toMatch(/CODECS="avc1\.[0-9a-fA-F]{6},(mp4a\.40\.2|opus)"/);
  console.log(`broadcast codecs: ${/CODECS="([^"]+)"/.exec(multivariant)?.[1]}`);

  // Mute and hide the camera: the broadcast goes on.
  await card.getByRole('button', { name: 'Turn off microphone' }).click();
  await expect(card.getByRole('button', { name: 'Turn on microphone' })).toBeVisible();
  await card.getByRole('button', { name: 'Turn on microphone' }).click();

  // Share the screen (the camera goes on top): the stream keeps playing, at the same size.
  await card.getByRole('button', { name: 'Share your screen' }).click();
  await expect(card.getByRole('button', { name: 'Stop sharing' })).toBeVisible();
  await card.getByRole('button', { name: 'Settings' }).click();
  const settings = page.getByRole('dialog', { name: 'Audio & video settings' });
  await expect(settings.getByRole('combobox', { name: 'Camera' })).toBeVisible();
  await expect(settings.getByRole('combobox', { name: 'Microphone' })).toBeVisible();
  const cameraOnTop = settings.getByRole('switch', { name: 'Show camera on screen share' });
  await expect(cameraOnTop).toBeChecked();
  await cameraOnTop.uncheck();
  await cameraOnTop.check();
  await settings.getByRole('button', { name: 'Close' }).click();
  await playing(viewer);
  await card.getByRole('button', { name: 'Stop sharing' }).click();
  await expect(card.getByRole('button', { name: 'Share your screen' })).toBeVisible();
  await expect(card.getByTestId('broadcast-live')).toHaveText('LIVE');

  // Leaving the page while live asks first; staying keeps the stream going.
  const asked = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.message()); void d.dismiss(); }));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Home' }).click();
  expect(await asked).toBe('Are you sure you want to leave this page? This will end your live stream.');
  await expect(page).toHaveURL(/\/manager$/);
  await expect(card.getByTestId('broadcast-live')).toHaveText('LIVE');

  // Ending asks first; cancelling keeps the stream live.
  await card.getByRole('button', { name: 'End stream' }).click();
  const confirm = page.getByRole('dialog', { name: 'End stream' });
  await expect(confirm.getByText('Are you sure you want to end your live stream?')).toBeVisible();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(card.getByTestId('broadcast-live')).toBeVisible();
  await card.getByRole('button', { name: 'End stream' }).click();
  await confirm.getByRole('button', { name: 'End stream' }).click();
  await expect(card.getByRole('button', { name: 'Start stream' })).toBeVisible();

  await viewer.goto(`/${streamer}`);
  await expect(viewer.getByText(`${streamer} is offline`)).toBeVisible(mediaWait);
  await expect.poll(() => sessionEvents(channelId), { timeout: 10_000 }).toEqual([
    { names: ['Session Created', 'Stream Start', 'Stream End', 'Session Ended'], details: expect.any(Array) },
  ]);
  expect(sessionEvents(channelId)[0].details[3]).toContain('publisher ended the broadcast');
});

test('a channel already live from an encoder cannot start a web broadcast', async ({ page }) => {
  const streamer = uniqueName('busy');
  await signUpVerified(page, streamer);
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  const ffmpeg = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-t', String(streamBudget / 1000), '-f', 'flv',
    ingest.replace('localhost', '127.0.0.1') + key,
  ], { stdio: 'ignore' });
  try {
    await page.goto('/manager');
    const card = page.getByTestId('broadcast-card');
    await card.getByRole('button', { name: 'Go live' }).click();
    await expect(card.getByTestId('already-live')).toHaveText('Your channel is already live', mediaWait);
    await expect(card.getByRole('button', { name: 'Start stream' })).toBeDisabled();
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
