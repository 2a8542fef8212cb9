import { expect, test } from '@playwright/test';
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { goLive, mediaWait, signUpVerified, streamBudget, uniqueName } from './helpers';

// A push service on loopback: it keeps each request it gets. Chromium's own push service is
// not reachable here, so the browser's subscribe cannot complete; the test registers a
// subscription it made itself (keys below) through the same API, as the browser would.
type Received = { headers: IncomingHttpHeaders; body: Buffer };

async function pushService(): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

const b64u = (b: Buffer) => b.toString('base64url');

// decrypt is the browser's side of RFC 8291: one aes128gcm record under keys from ECDH with
// the server's key in the header and the subscription's auth secret.
function decrypt(ua: ReturnType<typeof createECDH>, auth: Buffer, body: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLen = body[20];
  const asPub = body.subarray(21, 21 + idLen);
  const ct = body.subarray(21 + idLen);
  const shared = ua.computeSecret(asPub);
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), ua.getPublicKey(), asPub]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, auth, info, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const d = createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(ct.subarray(ct.length - 16));
  const plain = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  const end = plain.lastIndexOf(2);
  return plain.subarray(0, end).toString('utf8');
}

// checkVAPID verifies the RFC 8292 header: the JWT's ES256 signature under k (the server's
// published key), for the push service's origin.
function checkVAPID(header: string | undefined, aud: string, serverKey: string) {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(header ?? '');
  expect(m, `Authorization ${header}`).not.toBeNull();
  const [, jwt, k] = m!;
  expect(k).toBe(serverKey);
  const raw = Buffer.from(k, 'base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) }, format: 'jwk' });
  const [h, c, s] = jwt.split('.');
  expect(verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))).toBe(true);
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
  expect(claims.aud).toBe(aud);
  expect(claims.sub).toMatch(/^(mailto|https):/);
}

// goLiveMails reads the outbox's go-live mails to an address.
function goLiveMails(to: string, streamer: string): string[] {
  const dir = join(process.env.E2E_DATA_DIR!, 'outbox');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
  } catch {
    return [];
  }
  return files
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .filter((text) => new RegExp(`^To: .*${to.replace(/[.]/g, '\\.')}`, 'mi').test(text) && text.includes(`Subject: ${streamer} is live on Livehouse`));
}

test('a follower with the bell on gets an email and a Web Push message when the channel goes live', async ({ page, browser, baseURL }) => {
  test.setTimeout(streamBudget);
  const push = await pushService();
  const streamer = uniqueName('gl');
  const fanName = uniqueName('fan');
  try {
    await signUpVerified(page, streamer);
    const fanContext = await browser.newContext();
    await fanContext.grantPermissions(['notifications'], { origin: baseURL });
    const fan = await fanContext.newPage();
    const fanEmail = await signUpVerified(fan, fanName);

    // Follow, then ring the bell beside Follow.
    await fan.goto(`/${streamer}`);
    await expect(fan.getByRole('button', { name: 'Notifications off' })).toHaveCount(0); // not following yet
    await fan.getByRole('button', { name: 'Follow' }).click();
    await expect(fan.getByRole('button', { name: 'Following' })).toBeVisible();
    await fan.getByRole('button', { name: 'Notifications off' }).click();
    await expect(fan.getByRole('button', { name: 'Notifications on' })).toHaveAttribute('aria-pressed', 'true');
    await fan.reload();
    await expect(fan.getByRole('button', { name: 'Notifications on' })).toBeVisible();

    // Settings: both kinds on; the browser's own subscribe is tried (the service worker
    // registers; Chromium's push service is out of reach here, so it fails with a message).
    await fan.goto('/settings');
    await expect(fan.getByTestId('notify-email')).toBeChecked();
    await expect(fan.getByTestId('notify-push')).toBeChecked();
    await fan.getByTestId('push-browser').click();
    await expect(fan.getByRole('alert').or(fan.getByRole('button', { name: 'Stop notifications on this browser' }))).toBeVisible(mediaWait);
    expect(await fan.evaluate(async () => !!(await navigator.serviceWorker.getRegistration('/'))?.active)).toBe(true);
    const refused = fan.getByRole('alert');
    test.info().annotations.push({ type: 'browser subscribe', description: (await refused.count()) ? `failed: ${await refused.textContent()}` : 'succeeded' });

    // The subscription a browser would register, pointing at the loopback push service.
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const auth = randomBytes(16);
    const endpoint = `${push.url}/push/${fanName}`;
    const saved = await fan.request.post('/api/me/push-subscriptions', { data: { endpoint, expirationTime: null, keys: { p256dh: b64u(ua.getPublicKey()), auth: b64u(auth) } } });
    expect(saved.status()).toBe(204);
    const { publicKey } = await (await fan.request.get('/api/push/key')).json();

    // The streamer goes live.
    const ffmpeg = await goLive(page);
    try {
      await expect.poll(() => push.got.length, { ...mediaWait, message: 'a push request' }).toBeGreaterThan(0);
      const req = push.got[0];
      expect(req.headers['content-encoding']).toBe('aes128gcm');
      checkVAPID(req.headers.authorization, push.url, publicKey);
      const payload = JSON.parse(decrypt(ua, auth, req.body));
      expect(payload).toMatchObject({ title: `${streamer} is live`, url: `/${streamer}` });
      // The mail went before the push; once.
      const mails = goLiveMails(fanEmail, streamer);
      expect(mails).toHaveLength(1);
      expect(mails[0]).toContain(`${baseURL}/${streamer}`);
      expect(push.got).toHaveLength(1);
    } finally {
      ffmpeg.kill('SIGKILL');
    }
  } finally {
    push.server.close();
  }
});
