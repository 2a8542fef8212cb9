import { expect, test, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaWait, publish, streamBudget, uniqueName } from './helpers';

// Scale-out: hls.js in Chromium plays a channel ingested by node A through node B (which relays
// it) and through the shipped nginx edge in front of both. Its own two nodes share a fresh
// PostgreSQL schema and the CI's NATS; without those (or nginx) the spec is skipped.
const pg = process.env.LIVEHOUSE_TEST_POSTGRES_URL;
const nats = process.env.LIVEHOUSE_TEST_NATS_URL;
const nginx = '/usr/sbin/nginx';
test.skip(!pg || !nats || !existsSync(nginx), 'needs LIVEHOUSE_TEST_POSTGRES_URL, LIVEHOUSE_TEST_NATS_URL and nginx');
test.setTimeout(streamBudget);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(base: string) {
  await expect
    .poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status ?? 0, { ...mediaWait, message: `${base} healthy` })
    .toBe(200);
}

const children: ChildProcess[] = [];
let schema = '';
test.afterAll(() => {
  for (const c of children) c.kill('SIGINT');
  if (schema) execFileSync('psql', [pg!, '-q', '-c', `DROP SCHEMA IF EXISTS ${schema} CASCADE`]);
});

async function startNode(name: string, dbURL: string): Promise<{ base: string; rtmp: string }> {
  const port = await freePort();
  const rtmp = `127.0.0.1:${await freePort()}`;
  const base = `http://127.0.0.1:${port}`;
  const child = spawn('../bin/livehouse', ['serve'], {
    stdio: 'ignore',
    env: {
      ...process.env,
      LIVEHOUSE_HTTP_ADDR: `127.0.0.1:${port}`, LIVEHOUSE_PUBLIC_URL: base, LIVEHOUSE_RTMP_ADDR: rtmp,
      LIVEHOUSE_WEBRTC_ADDR: '127.0.0.1:0', LIVEHOUSE_RTMPS_ADDR: 'off', LIVEHOUSE_SRT_ADDR: 'off', LIVEHOUSE_DATA_DIR: mkdtempSync(join(tmpdir(), `livehouse-${name}-`)),
      LIVEHOUSE_DATABASE_URL: dbURL, LIVEHOUSE_NATS_URL: nats!, LIVEHOUSE_NODE_NAME: `${name}-${schema}`, LIVEHOUSE_NATS_SUBJECT_PREFIX: schema, // runs side by side share the NATS server
      LIVEHOUSE_SECRET_KEY: 'cd'.repeat(32), LIVEHOUSE_AUTO_VERIFY: 'true', LIVEHOUSE_LOG_LEVEL: 'error',
    },
  });
  children.push(child);
  await healthy(base);
  return { base, rtmp };
}

async function startEdge(nodes: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'livehouse-edge-'));
  const port = await freePort();
  const conf = readFileSync('../deploy/nginx/livehouse-edge.conf', 'utf8')
    .replaceAll('@LISTEN@', `127.0.0.1:${port}`)
    .replaceAll('@UPSTREAMS@', nodes.map((n) => `server ${n.replace('http://', '')};`).join(' '))
    .replaceAll('@CACHE_DIR@', dir);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const global = `daemon off;${process.getuid?.() === 0 ? ' user root;' : ''}`;
  children.push(spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', global], { stdio: 'ignore' }));
  const base = `http://127.0.0.1:${port}`;
  await expect.poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status ?? 0, mediaWait).toBe(200);
  return base;
}

// playing waits until the player's video advances by more than a second, without an error.
async function playing(viewer: Page) {
  const video = viewer.getByTestId('video');
  const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(0.5);
  const t1 = await currentTime();
  await expect.poll(currentTime, mediaWait).toBeGreaterThan(t1 + 1);
  expect(await video.evaluate((v: HTMLVideoElement) => v.error)).toBeNull();
}

// lowLatency waits until hls.js knows the wall-clock time of the frame it shows (the
// playlist's PROGRAM-DATE-TIME reached it) and that frame is less than 5 s old: the player
// follows the live edge through this path rather than an old playlist. A generous bound on
// behaviour, not a speed figure (make bench measures that).
async function lowLatency(viewer: Page) {
  const behind = () => viewer.evaluate(() => {
    const at = (window as unknown as { livehouseHls?: { playingDate: Date | null } }).livehouseHls?.playingDate;
    return at ? Date.now() - at.getTime() : Infinity;
  });
  await expect.poll(behind, { timeout: 30_000, message: 'the playing frame\'s program-date-time within 5 s of now' }).toBeLessThan(5_000);
}

test('hls.js plays a channel of node A through node B and through nginx', async ({ browser }) => {
  schema = `lh_e2e_relay_${process.pid}_${Date.now().toString(36)}`;
  execFileSync('psql', [pg!, '-q', '-c', `CREATE SCHEMA ${schema}`]);
  const u = new URL(pg!);
  u.searchParams.set('search_path', schema);
  const a = await startNode('e2e-a', u.toString());
  const b = await startNode('e2e-b', u.toString());
  const edge = await startEdge([a.base, b.base]);

  const streamer = uniqueName('relay');
  const reg = await fetch(`${b.base}/api/auth/register`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: streamer, email: `${streamer}@example.com`, password: 'Passw0rd!x' }),
  });
  expect(reg.status).toBe(201);
  const login = await (await fetch(`${b.base}/api/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: streamer, password: 'Passw0rd!x' }),
  })).json();
  const ffmpeg = publish(`rtmp://${a.rtmp}/live/${login.user.channel.streamKey}`);
  try {
    // Through node B: its page, its playback URL; node B relays from node A.
    const viaB = await (await browser.newContext()).newPage();
    const hlsHosts = new Set<string>();
    viaB.on('request', (r) => { if (r.url().includes('/hls/')) hlsHosts.add(new URL(r.url()).host); });
    await viaB.goto(`${b.base}/${streamer}`);
    await expect(viaB.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    await playing(viaB);
    await lowLatency(viaB);
    expect([...hlsHosts]).toEqual([new URL(b.base).host]);

    // Through nginx: the same page, with its HLS requests sent to the edge instead.
    const viaEdge = await (await browser.newContext()).newPage();
    await viaEdge.route('**/hls/**', (route) => route.continue({ url: route.request().url().replace(b.base, edge) }));
    const cache = new Set<string>();
    viaEdge.on('response', (r) => { const s = r.headers()['x-cache-status']; if (s) cache.add(s); });
    await viaEdge.goto(`${b.base}/${streamer}`);
    await expect(viaEdge.getByTestId('player').getByText('LIVE')).toBeVisible(mediaWait);
    await playing(viaEdge);
    await lowLatency(viaEdge);
    expect(cache.size).toBeGreaterThan(0); // the edge answered (MISS, HIT, …)
  } finally {
    ffmpeg.kill('SIGINT');
  }
});
