// Glass-to-glass latency of real-time playback in Chromium: a publisher page draws the current
// time into a canvas (timecode.mjs: black and white cells) on every animation frame, sends the
// canvas's captureStream() over WebRTC to a WHIP-style endpoint (an SDP offer posted once ICE
// gathering is done, as the broadcast card does: H.264 first, 2.5 Mbps, 30 fps, resolution
// kept), and a viewer page receives it from a WHEP-style endpoint into a <video>, reads the
// time back from every frame it presents (requestVideoFrameCallback, then drawImage into a
// 160×90 canvas and getImageData) and takes display time − drawn time. Both pages are in one
// browser on one machine, on the same clock (performance.timeOrigin + performance.now(); the
// offset between the two pages' clocks is measured and reported).
//
// Usage: node bench/glass-to-glass.mjs CONFIG
// CONFIG is JSON: {origin, publish: {url, token}, play: {url, token}, frames, warmupSeconds,
// width, height, offsetMs}; offsetMs draws the time that much early (a check: the figures must
// grow by it); origin is the server's (the pages are served under it, so the endpoints are
// same-origin). Prints one JSON object on stdout: display (ms, one per frame read), received
// (ms from the drawing to the frame's last packet arriving, where Chromium reports it),
// unreadable (frames presented that carried no readable time), presented (frames the video
// presented while sampling, from its presentedFrames counter), widths (the picture widths
// seen), clockOffsetMs (viewer clock − publisher clock) and drawnPerSecond.
import { readFile } from 'node:fs/promises';
import { fakeMediaArgs } from '../chromium.mjs';
import { launch } from './browser.mjs';

const cfg = JSON.parse(process.argv[2]);
const here = new URL('.', import.meta.url);

const browser = await launch(fakeMediaArgs);
try {
  const publisher = await open(browser);
  const viewer = await open(browser);
  await publisher.evaluate((a) => import('/__bench/glass-page.mjs').then((m) => m.publish(a)), {
    endpoint: cfg.publish,
    width: cfg.width ?? 1280,
    height: cfg.height ?? 720,
    offsetMs: cfg.offsetMs ?? 0,
  });
  const result = await viewer.evaluate((a) => import('/__bench/glass-page.mjs').then((m) => m.play(a)), {
    endpoint: cfg.play,
    frames: cfg.frames ?? 300,
    warmupMs: (cfg.warmupSeconds ?? 3) * 1000,
  });
  result.clockOffsetMs = await clockOffset(publisher, viewer);
  result.drawnPerSecond = await publisher.evaluate(() => window.benchDrawn / ((performance.now() - window.benchDrawStart) / 1000));
  await viewer.evaluate(() => window.benchEnd());
  await publisher.evaluate(() => window.benchEnd());
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}

// open gives a blank page under the server's origin (so the endpoints are same-origin), in its
// own browser context (its own renderer, as a second tab of another user would have), where
// /__bench/glass-page.mjs and timecode.mjs are this directory's modules.
async function open(b) {
  const context = await b.newContext();
  const page = await context.newPage();
  await page.route(`${cfg.origin}/__bench/**`, async (route) => {
    const name = new URL(route.request().url()).pathname.slice('/__bench/'.length);
    if (name === 'page.html') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><body style="margin:0;background:#000">' });
    if (!['timecode.mjs', 'glass-page.mjs'].includes(name)) return route.fulfill({ status: 404 });
    return route.fulfill({ contentType: 'text/javascript', body: await readFile(new URL(name, here)) });
  });
  // The page's errors, on stderr (not the 404s of the viewer's offers before the stream is up: negotiate retries those).
  page.on('console', (m) => m.type() === 'error' && !m.text().includes('404 (Not Found)') && console.error(`page: ${m.text()}`));
  await page.goto(`${cfg.origin}/__bench/page.html`);
  return page;
}

// clockOffset is the viewer page's clock minus the publisher page's, from the read of the
// viewer's clock that fell between two reads of the publisher's closest together.
async function clockOffset(a, b) {
  const now = () => performance.timeOrigin + performance.now();
  let best = { span: Infinity, offset: 0 };
  for (let i = 0; i < 9; i++) {
    const a0 = await a.evaluate(now);
    const bt = await b.evaluate(now);
    const a1 = await a.evaluate(now);
    if (a1 - a0 < best.span) best = { span: a1 - a0, offset: bt - (a0 + a1) / 2 };
  }
  return best.offset;
}
