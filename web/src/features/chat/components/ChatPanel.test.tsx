import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, expect, it, vi } from 'vitest';
import { alice } from '../../../test/fixtures';
import { mockFetch, renderAt } from '../../../test/render';
import { ChatPanel } from './ChatPanel';

// A stand-in for the IVS chat client: each room fetches its token on connect, and the test
// drops a connection by emitting the client's 'disconnect' event.
type Listener = (e?: unknown) => void;
const rooms = vi.hoisted(() => [] as { emit(name: string, e?: unknown): void; token?: string; sendMessage: (r: unknown) => Promise<unknown> }[]);
vi.mock('amazon-ivs-chat-messaging', () => {
  class ChatRoom {
    logLevel = 'error';
    token?: string;
    private listeners: Record<string, Listener> = {};
    constructor(private opts: { tokenProvider: () => Promise<{ token: string }> }) {
      rooms.push(this);
    }
    addListener(name: string, f: Listener) {
      this.listeners[name] = f;
      return () => undefined;
    }
    connect() {
      // A test can hold the connection open by stubbing __holdConnect with a promise.
      const hold = (globalThis as { __holdConnect?: Promise<void> }).__holdConnect ?? Promise.resolve();
      void this.opts.tokenProvider().then(async (t) => {
        await hold;
        this.token = t.token;
        this.listeners.connect?.();
      });
    }
    disconnect() {}
    sendMessage = async (): Promise<unknown> => ({});
    emit(name: string, e?: unknown) {
      this.listeners[name]?.(e);
    }
  }
  return { ChatRoom, SendMessageRequest: class {}, DeleteMessageRequest: class {} };
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

it('reconnects with a fresh token when the connection drops', async () => {
  let issued = 0;
  mockFetch({
    'GET /api/session': { status: 200, body: { user: null } },
    'POST /api/chat/token': () => {
      issued++;
      return { status: 200, body: { token: `t${issued}`, sessionExpirationTime: '2026-12-02T12:00:00Z', tokenExpirationTime: '2026-12-02T11:01:00Z' } };
    },
  });
  vi.useFakeTimers({ shouldAdvanceTime: true });
  renderAt(<ChatPanel channel="streamer" isOwner={false} isBanned={false} />);
  await waitFor(() => expect(rooms[0]?.token).toBe('t1'));

  act(() => rooms[0].emit('disconnect'));
  await act(() => vi.advanceTimersByTimeAsync(2000));
  await waitFor(() => expect(rooms[1]?.token).toBe('t2'));
  expect(rooms).toHaveLength(2);
  expect(screen.queryByText('You are banned from this channel')).not.toBeInTheDocument();
});

const token = { status: 200, body: { token: 't', sessionExpirationTime: '2026-12-02T12:00:00Z', tokenExpirationTime: '2026-12-02T11:01:00Z' } };
const message = (id: string, content: string, sendTime = new Date('2026-12-02T10:07:00Z')) => ({
  id,
  content,
  sendTime,
  sender: { userId: 'u_2', attributes: { username: 'bob', color: 'green' } },
});

it('shows each line with its time, and the owner a Cancel in the moderation dialog', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: alice } }, 'POST /api/chat/token': token });
  renderAt(<ChatPanel channel="alice" isOwner isBanned={false} />);
  await waitFor(() => expect(rooms.at(-1)?.token).toBe('t'));
  const sent = new Date('2026-12-02T10:07:00Z');
  act(() => rooms.at(-1)!.emit('message', message('m1', 'hello there', sent)));
  const line = await screen.findByTestId('chatline');
  expect(line.querySelector('time')).toHaveAttribute('datetime', sent.toISOString());
  expect(line.querySelector('time')?.textContent).toMatch(/\d/);

  await userEvent.click(screen.getByRole('button', { name: "Moderate bob's message" }));
  const dialog = screen.getByRole('dialog', { name: 'Moderate message' });
  expect(dialog).toBeInTheDocument();
  await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
  expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  expect(screen.getByTestId('chatline')).toHaveTextContent('hello there');
});

it('shows the owner the Moderating pill for 5 s only', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: alice } }, 'POST /api/chat/token': token });
  vi.useFakeTimers({ shouldAdvanceTime: true });
  renderAt(<ChatPanel channel="alice" isOwner isBanned={false} />);
  expect(screen.getByText('Moderating')).toBeInTheDocument();
  await act(() => vi.advanceTimersByTimeAsync(4900));
  expect(screen.getByText('Moderating')).toBeInTheDocument();
  await act(() => vi.advanceTimersByTimeAsync(200));
  expect(screen.queryByText('Moderating')).not.toBeInTheDocument();
});

it('says "Max message length reached." past 500 characters, and sends nothing', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: alice } }, 'POST /api/chat/token': token });
  renderAt(<ChatPanel channel="streamer" isOwner={false} isBanned={false} />);
  await waitFor(() => expect(rooms.at(-1)?.token).toBe('t'));
  const room = rooms.at(-1)!;
  const send = vi.fn(async () => ({}));
  room.sendMessage = send;
  const input = screen.getByLabelText('Chat message');
  fireEvent.change(input, { target: { value: 'x'.repeat(500) } });
  expect(screen.queryByText('Max message length reached.')).not.toBeInTheDocument();
  expect(screen.getByRole('button', { name: 'Send' })).toBeEnabled();
  fireEvent.change(input, { target: { value: 'x'.repeat(501) } });
  expect(screen.getByRole('alert')).toHaveTextContent('Max message length reached.');
  expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled();
  fireEvent.submit(input.closest('form')!);
  expect(send).not.toHaveBeenCalled();
});

it('says "Rate exceeded." when the server limits the sender', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: alice } }, 'POST /api/chat/token': token });
  renderAt(<ChatPanel channel="streamer" isOwner={false} isBanned={false} />);
  await waitFor(() => expect(rooms.at(-1)?.token).toBe('t'));
  rooms.at(-1)!.sendMessage = async () => {
    throw { id: 'e1', errorCode: 429, errorMessage: 'Too many requests on this connection.' };
  };
  await screen.findByPlaceholderText('Say something');
  await userEvent.type(screen.getByLabelText('Chat message'), 'hi');
  await userEvent.click(screen.getByRole('button', { name: 'Send' }));
  expect(await screen.findByRole('alert')).toHaveTextContent('Rate exceeded.');
});

it('keeps the list at its end only while the viewer is there, offers a jump otherwise, and never scrolls the page', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: null } }, 'POST /api/chat/token': token });
  const intoView = vi.fn();
  Element.prototype.scrollIntoView = intoView;
  renderAt(<ChatPanel channel="streamer" isOwner={false} isBanned={false} />);
  await waitFor(() => expect(rooms.at(-1)?.token).toBe('t'));
  const room = rooms.at(-1)!;
  const list = screen.getByTestId('chat-list');
  // jsdom lays nothing out: the list is 100 px tall, 20 px a line.
  Object.defineProperty(list, 'clientHeight', { configurable: true, get: () => 100 });
  Object.defineProperty(list, 'scrollHeight', { configurable: true, get: () => list.children.length * 20 });
  act(() => {
    for (let i = 0; i < 10; i++) room.emit('message', message(`m${i}`, `line ${i}`));
  });
  expect(list.scrollTop).toBe(200); // at the end: 10 lines × 20 px

  // The viewer scrolls up: a new line leaves the list where it is and offers the jump.
  list.scrollTop = 0;
  fireEvent.scroll(list);
  act(() => room.emit('message', message('m10', 'line 10')));
  expect(list.scrollTop).toBe(0);
  await userEvent.click(screen.getByRole('button', { name: /New messages/ }));
  expect(list.scrollTop).toBe(220);
  expect(screen.queryByRole('button', { name: /New messages/ })).not.toBeInTheDocument();

  // Back at the end, new lines keep it there.
  act(() => room.emit('message', message('m11', 'line 11')));
  expect(list.scrollTop).toBe(240);
  expect(intoView).not.toHaveBeenCalled();
});

it('is busy until its socket connects, and refuses a message before then', async () => {
  mockFetch({ 'GET /api/session': { status: 200, body: { user: alice } }, 'POST /api/chat/token': token });
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  vi.stubGlobal('__holdConnect', opened);
  renderAt(<ChatPanel channel="streamer" isOwner={false} isBanned={false} />);
  const region = screen.getByRole('region', { name: 'Chat' });
  expect(region).toHaveAttribute('aria-busy', 'true');
  await screen.findByPlaceholderText('Say something');
  const room = rooms.at(-1)!;
  const send = vi.fn(async () => ({}));
  room.sendMessage = send;
  await userEvent.type(screen.getByLabelText('Chat message'), 'too early');
  await userEvent.click(screen.getByRole('button', { name: 'Send' }));
  expect(await screen.findByRole('alert')).toHaveTextContent('Please wait until chat has connected.');
  expect(send).not.toHaveBeenCalled();
  expect(screen.getByLabelText('Chat message')).toHaveValue('too early');

  open();
  await waitFor(() => expect(region).toHaveAttribute('aria-busy', 'false'));
  await userEvent.click(screen.getByRole('button', { name: 'Send' }));
  expect(send).toHaveBeenCalledTimes(1);
});
