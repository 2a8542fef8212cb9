import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { ChatPanel } from './ChatPanel';

// A stand-in for the IVS chat client: each room fetches its token on connect, and the test
// drops a connection by emitting the client's 'disconnect' event.
type Listener = (e?: unknown) => void;
const rooms = vi.hoisted(() => [] as { emit(name: string): void; token?: string }[]);
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
      void this.opts.tokenProvider().then((t) => {
        this.token = t.token;
        this.listeners.connect?.();
      });
    }
    disconnect() {}
    emit(name: string) {
      this.listeners[name]?.();
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
    'GET /api/me': { status: 401, body: { error: { code: 'Unauthorized', message: 'Sign in first.' } } },
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
