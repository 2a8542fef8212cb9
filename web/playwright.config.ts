import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumArgs, chromiumPath } from './chromium.mjs';

// The browser tests run Debian's Chromium against the real binary (../bin/livehouse), started
// here on a fresh data dir with email verification on, so mail goes to <dataDir>/outbox.
// E2E_PORT picks the port; without it a free one is found, so parallel runs never clash.
const port = Number(process.env.E2E_PORT ?? freePort());
process.env.E2E_PORT = String(port); // workers load this file again: they must agree
export const baseURL = `http://127.0.0.1:${port}`;
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'livehouse-e2e-'));
process.env.E2E_DATA_DIR = dataDir; // the tests read the outbox from here

export default defineConfig({
  testDir: './e2e',
  // Sized for a loaded machine (`make test` beside another on 2 cores), where a page and its
  // API calls can take several times as long as alone. Tests that go live set their own
  // budget (streamBudget), and wait for media with mediaWait (e2e/helpers.ts).
  timeout: 120_000,
  expect: { timeout: 20_000 },
  // One spec file at a time. Two (every test makes its own users and channels and reads only
  // those back, so they could) took 17 min instead of 16.4 beside the Go tests, and beside a
  // second `make test` two of 47 failed (a live player stalled at 0 s; a VOD cue 8.7 s off the
  // live player's clock): four Chromiums and their ffmpeg publishers on 2 cores. E2E_WORKERS
  // sets more on a bigger machine.
  fullyParallel: false,
  workers: Number(process.env.E2E_WORKERS ?? 1),
  retries: 0,
  reporter: [['list']],
  // One folder per run (Playwright empties it at the start): runs side by side keep their
  // error contexts.
  outputDir: join(tmpdir(), `livehouse-e2e-results-${port}`),
  use: {
    baseURL,
    headless: true,
    trace: 'off',
    screenshot: 'off',
    launchOptions: { executablePath: chromiumPath, args: [...chromiumArgs] },
  },
  webServer: {
    command: '../bin/livehouse serve',
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      LIVEHOUSE_HTTP_ADDR: `127.0.0.1:${port}`,
      LIVEHOUSE_PUBLIC_URL: baseURL,
      LIVEHOUSE_DATA_DIR: dataDir,
      LIVEHOUSE_AUTO_VERIFY: 'false',
      LIVEHOUSE_RTMP_ADDR: '127.0.0.1:0',
      LIVEHOUSE_WEBRTC_ADDR: '127.0.0.1:0',
      LIVEHOUSE_RTMPS_ADDR: '127.0.0.1:0',
      LIVEHOUSE_SRT_ADDR: '127.0.0.1:0',
      LIVEHOUSE_LOG_LEVEL: 'warn',
      // Every spec signs up from 127.0.0.1: lift the per-address limits a real client meets.
      LIVEHOUSE_AUTH_SIGN_UPS_PER_ADDRESS: '10000',
      LIVEHOUSE_AUTH_MAIL_REQUESTS_PER_ADDRESS: '10000',
      // notifications.spec.ts's push service listens on loopback, over http.
      LIVEHOUSE_WEB_PUSH_ALLOW_PRIVATE: 'true',
    },
  },
});

// freePort asks the kernel for a free loopback port (bind port 0, read it, close). It runs in
// a child process because the config is loaded synchronously.
function freePort(): number {
  const script =
    "const s = require('node:net').createServer();" +
    "s.listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });";
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const port = Number(out.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`could not find a free port: ${out}`);
  return port;
}
