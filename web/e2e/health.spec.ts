import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mediaWait, signUpVerified, streamBudget, uniqueName, windowWait } from './helpers';

// The known stream: 960×540 (over 480p, so a BASIC channel allows 3.5 Mbps), 30 fps, a
// keyframe every `gop` frames, constant 2,500 kbit/s video (x264's CBR mode pads with filler
// so the truth is the target), with B-frames, and 128 kbit/s stereo AAC at 48 kHz.
function publish(url: string, { gop = 60, size = '960x540', kbps = 2500 } = {}): ChildProcess {
  const rate = `${kbps}k`;
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    // superfast keeps CABAC and B-frames (so the stream is High profile and arrives out of
    // presentation order, as OBS's usually does).
    '-c:v', 'libx264', '-preset', 'superfast', '-profile:v', 'high', '-level', '3.1',
    '-x264-params', 'sliced-threads=0:nal-hrd=cbr',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', rate, '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
    '-t', String(streamBudget / 1000), '-f', 'flv', url,
  ], { stdio: 'ignore' });
}

// ffmpeg's FLV muxer names itself "Lavf<libavformat version>" in onMetaData.
function lavfName(): string {
  const out = execFileSync('ffmpeg', ['-hide_banner', '-version']).toString();
  const m = out.match(/libavformat\s+(\d+)\.\s*(\d+)\.\s*(\d+)/);
  if (!m) throw new Error(`no libavformat version in: ${out}`);
  return `Lavf${m[1]}.${m[2]}.${m[3]}`;
}

async function goLive(page: Page, opts?: Parameters<typeof publish>[1]) {
  await page.goto('/settings');
  const ingest = await page.locator('#ingestServerUrl').inputValue();
  const key = await page.locator('#streamKeyValue').inputValue();
  return publish(ingest.replace('localhost', '127.0.0.1') + key, opts);
}

type Session = {
  id: string;
  isLive: boolean;
  endTime: string | null;
  events: { name: string }[];
  ingestConfiguration: {
    video: { codec: string; encoder: string; profile: string; level: string; targetBitrate: number; targetFramerate: number; videoWidth: number; videoHeight: number };
    audio: { codec: string; targetBitrate: number; sampleRate: number; channels: number };
  } | null;
  metrics: { period: number; videoBitrate: (number | null)[]; audioBitrate: (number | null)[]; framerate: (number | null)[]; keyframeInterval: (number | null)[] };
};

async function session(page: Page, id: string, query = ''): Promise<Session> {
  const res = await page.request.get(`/api/me/sessions/${id}${query}`);
  expect(res.status()).toBe(200);
  return res.json();
}

const within10 = (got: number, want: number) => expect(Math.abs(got - want) / want, `${got} within 10 % of ${want}`).toBeLessThanOrEqual(0.1);

// The first number in an element's text.
async function numberIn(page: Page, testId: string): Promise<number> {
  const text = (await page.getByTestId(testId).textContent()) ?? '';
  const m = text.match(/[\d.]+/);
  expect(m, `a number in ${testId}: "${text}"`).not.toBeNull();
  return Number(m![0]);
}

test('a known stream: the health page measures it within 10 %, shows its declared configuration, and the session ends with its events in order', async ({ page }) => {
  test.setTimeout(streamBudget);
  const streamer = uniqueName('health');
  await signUpVerified(page, streamer);
  const ffmpeg = await goLive(page);
  try {
    await page.goto('/health');
    await expect(page).toHaveURL(/\/health\/st-[0-9A-Za-z]{23}$/, mediaWait);
    const id = page.url().split('/').pop()!;
    await expect(page.getByRole('button', { name: 'Choose a stream session' }).getByText('LIVE')).toBeVisible(mediaWait);
    await expect(page.getByTestId('status-item-timer')).toHaveText(/^00:\d\d:\d\d$/);
    await expect(page.getByTestId('status-item-health')).toHaveText('Stable');
    await expect(page.getByRole('button', { name: 'Show the latest 5 minutes of data' })).toHaveAttribute('aria-pressed', 'true', mediaWait);
    await expect(page.locator('.uplot')).toHaveCount(2);
    // The page's own player is the one viewer.
    await expect(page.getByTestId('status-item-concurrent-views')).toHaveText('1 view', mediaWait);

    // 20 seconds of 1-second points, through the API.
    await expect
      .poll(async () => (await session(page, id, '?period=1')).metrics.framerate.filter((v) => v != null).length, windowWait)
      .toBeGreaterThanOrEqual(20);
    const s = await session(page, id, '?period=1');
    // Every second after the first two (the encoder's start-up burst) measures the truth.
    const steady = <T,>(xs: (T | null)[]) => xs.filter((v): v is T => v != null).slice(2);
    for (const v of steady(s.metrics.framerate)) within10(v, 30);
    for (const v of steady(s.metrics.keyframeInterval)) within10(v, 2);
    for (const v of steady(s.metrics.audioBitrate)) within10(v, 128_000);
    const video = steady(s.metrics.videoBitrate);
    within10(video.reduce((a, b) => a + b, 0) / video.length, 2_500_000);
    // A one-second window of a CBR stream holds more or less than a second's budget (the
    // encoder's buffer is a second long), so bitrate is judged at the 5-second period the
    // managed service recommends, whole periods only.
    const fives = (await session(page, id, '?period=5')).metrics.videoBitrate.filter((v): v is number => v != null).slice(1, -1);
    expect(fives.length).toBeGreaterThanOrEqual(2);
    for (const v of fives) within10(v, 2_500_000);

    // The declared configuration, exactly as ffmpeg's onMetaData and the SPS state it.
    // (ffmpeg writes videodatarate and audiodatarate as bit_rate / 1024.)
    expect(s.ingestConfiguration).toEqual({
      video: {
        codec: 'avc1.64001F', encoder: lavfName(), profile: 'High', level: '3.1', targetBitrate: Math.trunc((2_500_000 / 1024) * 1000),
        targetFramerate: 30, videoWidth: 960, videoHeight: 540, track: 'Track0',
      },
      audio: { codec: 'mp4a.40.2', targetBitrate: 125_000, sampleRate: 48_000, channels: 2, track: 'Track0' },
    });

    // The page shows the same: the session averages within 10 %, the declaration as declared.
    await page.reload();
    await expect(page.getByTestId('measured-framerate')).not.toHaveText('----');
    within10(await numberIn(page, 'measured-videoBitrate'), 2.5);
    within10(await numberIn(page, 'measured-framerate'), 30);
    within10(await numberIn(page, 'measured-keyframeInterval'), 2);
    within10(await numberIn(page, 'measured-audioBitrate'), 128);
    await expect(page.getByTestId('encoder-encoder')).toHaveText(lavfName());
    await expect(page.getByTestId('encoder-videoCodec')).toHaveText('avc1.64001F');
    await expect(page.getByTestId('encoder-profile')).toHaveText('High 3.1');
    await expect(page.getByTestId('encoder-resolution')).toHaveText('960x540');
    await expect(page.getByTestId('encoder-targetFramerate')).toHaveText('30 fps');
    await expect(page.getByTestId('encoder-targetBitrate')).toHaveText('2.44 Mbps');
    await expect(page.getByTestId('encoder-audioCodec')).toHaveText('mp4a.40.2');
    await expect(page.getByTestId('encoder-audioSampleRate')).toHaveText('48 kHz');
    await expect(page.getByTestId('encoder-audioChannels')).toHaveText('Stereo');
    await expect(page.getByTestId('encoder-audioBitrate')).toHaveText('125 kbps');
    await expect(page.getByTestId('warning-keyframeInterval')).toHaveCount(0);
    // Live: newest event first (the recorder's Recording Start, once a segment is stored, may
    // be newer than Stream Start).
    await expect(page.locator('[data-testid="stream-event"]:not([data-name^="Recording "])').first()).toHaveAttribute('data-name', 'Stream Start');
    // Zoom out to the whole session: the charts draw it.
    const all = page.getByRole('button', { name: 'Show all of the data' });
    await all.click();
    await expect(all).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByRole('button', { name: 'Show the latest 5 minutes of data' })).toHaveAttribute('aria-pressed', 'false');
    await expect(page.locator('.uplot')).toHaveCount(2);

    // The stream manager's status bar reads the same data.
    const manager = await page.context().newPage();
    await manager.goto('/manager');
    await expect(manager.getByTestId('status-item-timer')).toHaveText(/^00:\d\d:\d\d$/);
    await expect(manager.getByTestId('status-item-health')).toHaveText('Stable');
    await expect(manager.getByTestId('status-item-concurrent-views')).toHaveText('1 view');
    await expect(manager.getByRole('link', { name: 'Monitor the latest stream session' })).toHaveAttribute('href', '/health');
    await manager.close();

    // The encoder stops: the session ends, with its events in order.
    ffmpeg.kill('SIGINT');
    await expect(page.getByTestId('status-item-timer')).toHaveText('Offline', mediaWait);
    // The recorder's events are among them: Recording Start once a segment is stored, and
    // Recording End once the recording is finished, which the recorder does after the session
    // has ended (so that the channel is free at once); the page shows it when opened again.
    const names = ['Session Created', 'Stream Start', 'Stream End', 'Session Ended'];
    const recording = (n: string | null) => n?.startsWith('Recording ') ?? false;
    await expect
      .poll(async () => (await session(page, id)).events.map((e) => e.name).filter(recording), mediaWait)
      .toEqual(['Recording Start', 'Recording End']);
    await page.reload();
    await expect(page.getByTestId('stream-event')).toHaveCount(6);
    const shown = await page.getByTestId('stream-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
    expect(shown.filter((n) => !recording(n))).toEqual(names);
    expect(shown.filter(recording)).toEqual(['Recording Start', 'Recording End']);
    const ended = await session(page, id);
    expect(ended.endTime).not.toBeNull();
    expect(ended.events.map((e) => e.name).filter((n) => !recording(n))).toEqual(names);
    const list = await (await page.request.get('/api/me/sessions')).json();
    expect(list.sessions.map((x: { id: string; isLive: boolean }) => [x.id, x.isLive])).toEqual([[id, false]]);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});

test('a 4-second keyframe interval shows the warning', async ({ page }) => {
  test.setTimeout(streamBudget);
  await signUpVerified(page, uniqueName('keyint'));
  const ffmpeg = await goLive(page, { gop: 120, size: '640x360', kbps: 800 });
  try {
    await page.goto('/health');
    await expect(page).toHaveURL(/\/health\/st-/, mediaWait);
    // Two keyframes 4 s apart are needed to measure the interval; the page refreshes every 5 s.
    await expect(page.getByTestId('warning-keyframeInterval')).toContainText('set it to 2 seconds', windowWait);
    within10(await numberIn(page, 'encoder-keyframeInterval'), 4);
  } finally {
    ffmpeg.kill('SIGKILL');
  }
});
