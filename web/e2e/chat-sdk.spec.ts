import { expect, test } from '@playwright/test';
import { ChatRoom, DeleteMessageRequest, DisconnectUserRequest, SendMessageRequest, type ChatMessage, type DeleteMessageEvent, type DisconnectUserEvent } from 'amazon-ivs-chat-messaging';
import WebSocket from 'ws';
import { password, signUpVerified, uniqueName } from './helpers';

// The unmodified Amazon IVS Chat client library, in Node, against the real server: Node 20 has
// no global WebSocket, so the ws package stands in for the browser's.
(globalThis as unknown as { WebSocket: unknown }).WebSocket = WebSocket;

test('the amazon-ivs-chat-messaging client connects, sends, receives, deletes and disconnects a user', async ({ page, request, baseURL }) => {
  const owner = uniqueName('host');
  const viewer = uniqueName('fan');
  await signUpVerified(page, owner);
  await page.context().clearCookies();
  await signUpVerified(page, viewer);
  const login = async (username: string) => (await (await request.post('/api/auth/login', { data: { username, password } })).json()).token as string;
  const tokens = { [owner]: await login(owner), [viewer]: await login(viewer) };
  const room = (username: string) =>
    new ChatRoom({
      regionOrUrl: baseURL!.replace(/^http/, 'ws') + '/api/chat',
      tokenProvider: async () => {
        const res = await request.post('/api/chat/token', { data: { channel: owner }, headers: { Authorization: `Bearer ${tokens[username]}` } });
        const body = await res.json();
        return { token: body.token, sessionExpirationTime: new Date(body.sessionExpirationTime), tokenExpirationTime: new Date(body.tokenExpirationTime) };
      },
    });
  const host = room(owner);
  const fan = room(viewer);
  host.logLevel = fan.logLevel = 'error';
  const connected = (r: ChatRoom) => new Promise<void>((resolve) => r.addListener('connect', () => resolve()));
  const hostUp = connected(host);
  const fanUp = connected(fan);
  host.connect();
  fan.connect();
  await Promise.all([hostUp, fanUp]);

  const received = new Promise<ChatMessage>((resolve) => host.addListener('message', (m) => resolve(m)));
  const sent = await fan.sendMessage(new SendMessageRequest('hello from the SDK'));
  expect(sent.content).toBe('hello from the SDK');
  const got = await received;
  expect(got.content).toBe('hello from the SDK');
  expect(got.sender.attributes?.username).toBe(viewer);

  const deleted = new Promise<DeleteMessageEvent>((resolve) => fan.addListener('messageDelete', (e) => resolve(e)));
  await host.deleteMessage(new DeleteMessageRequest(got.id, 'off topic'));
  expect((await deleted).messageId).toBe(got.id);

  const gone = new Promise<DisconnectUserEvent>((resolve) => host.addListener('userDisconnect', (e) => resolve(e)));
  const fanClosed = new Promise<void>((resolve) => fan.addListener('disconnect', () => resolve()));
  await host.disconnectUser(new DisconnectUserRequest(got.sender.userId, 'timeout'));
  expect((await gone).userId).toBe(got.sender.userId);
  await fanClosed;
  host.disconnect();
});
