// Debian's Chromium as the browser tests (playwright.config.ts, e2e/) and the benchmarks
// (bench/) launch it: one list, so that a flag added for one is not missing from the other.

// chromiumPath is the browser binary: $CHROMIUM, or Debian's.
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// chromiumArgs are the flags every launch gets: no sandbox (the tests run as root, which
// Chromium's sandbox refuses), no GPU, none of the browser's own background traffic or
// first-run page, and no QUIC.
export const chromiumArgs = Object.freeze([
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]);

// fakeMediaArgs are the flags of a page that captures: Chromium's fake camera and microphone,
// granted without a prompt.
export const fakeMediaArgs = Object.freeze(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
