import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { publish, WhipError, type WhipSession } from '../lib/whip';
import { useBroadcast } from './useBroadcast';

vi.mock('../lib/compositor', () => ({
  WIDTH: 1280,
  HEIGHT: 720,
  FPS: 30,
  Compositor: class {
    setCamera() {}
    setScreen() {}
    setLayout() {}
    close() {}
    track() {
      return { kind: 'video' } as MediaStreamTrack;
    }
  },
}));

vi.mock('../lib/whip', async (importOriginal) => ({ ...(await importOriginal<typeof import('../lib/whip')>()), publish: vi.fn() }));

// fakePC is a peer connection whose state the test sets.
class FakePC extends EventTarget {
  connectionState: RTCPeerConnectionState = 'connected';
  set(state: RTCPeerConnectionState) {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  getSenders() {
    return [];
  }
}

function fakeSession() {
  const pc = new FakePC();
  const end = vi.fn(async () => {});
  return { session: { pc: pc as unknown as RTCPeerConnection, location: '/api/whip/x', end } satisfies WhipSession, pc, end };
}

const track = (kind: string) => ({ kind, enabled: true, stop: vi.fn(), getSettings: () => ({ deviceId: kind }), addEventListener: vi.fn() });

beforeEach(() => {
  class FakeStream {
    tracks: unknown[];
    constructor(tracks: unknown[] = []) {
      this.tracks = tracks;
    }
    getTracks() {
      return this.tracks;
    }
    getVideoTracks() {
      return this.tracks.filter((t) => (t as { kind: string }).kind === 'video');
    }
    getAudioTracks() {
      return this.tracks.filter((t) => (t as { kind: string }).kind === 'audio');
    }
  }
  vi.stubGlobal('MediaStream', FakeStream);
  vi.stubGlobal('navigator', {
    ...navigator,
    mediaDevices: {
      getUserMedia: vi.fn(async () => new FakeStream([track('video'), track('audio')])),
      enumerateDevices: vi.fn(async () => []),
    },
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.mocked(publish).mockReset();
});

async function live() {
  const onError = vi.fn();
  const onInfo = vi.fn();
  const hook = renderHook(() => useBroadcast({ streamKey: 'sk_1', whipUrl: '/api/whip', onError, onInfo }));
  await act(() => hook.result.current.open());
  expect(hook.result.current.status).toBe('ready');
  return { hook, onError, onInfo };
}

it('reconnects with a new WHIP session when the connection fails, retrying while the server still holds the old one', async () => {
  const first = fakeSession();
  const second = fakeSession();
  vi.mocked(publish)
    .mockResolvedValueOnce(first.session)
    .mockRejectedValueOnce(new WhipError(409, 'ChannelAlreadyLive', 'Your channel is already live.'))
    .mockResolvedValueOnce(second.session);
  const { hook, onError, onInfo } = await live();
  await act(() => hook.result.current.start());
  expect(hook.result.current.status).toBe('live');
  expect(publish).toHaveBeenCalledWith('/api/whip', 'sk_1', expect.objectContaining({ kind: 'video' }), expect.objectContaining({ kind: 'audio' }));

  act(() => first.pc.set('failed'));
  await waitFor(() => expect(hook.result.current.status).toBe('reconnecting'));
  expect(onError).toHaveBeenCalledWith('Stream disconnected');
  expect(first.end).toHaveBeenCalled(); // DELETE for the dropped session, so the channel frees up
  await waitFor(() => expect(hook.result.current.status).toBe('live'), { timeout: 5000 });
  expect(publish).toHaveBeenCalledTimes(3);
  expect(onInfo).toHaveBeenCalledWith('Reconnected');

  // Ending now ends the new session, and a late failure of the old one changes nothing.
  await act(() => hook.result.current.end());
  expect(second.end).toHaveBeenCalled();
  act(() => first.pc.set('failed'));
  expect(hook.result.current.status).toBe('ready');
  expect(publish).toHaveBeenCalledTimes(3);
});

it('gives up at once when the key is refused during a reconnect', async () => {
  const first = fakeSession();
  vi.mocked(publish)
    .mockResolvedValueOnce(first.session)
    .mockRejectedValueOnce(new WhipError(401, 'InvalidStreamKey', 'The stream key is not valid.'));
  const { hook, onError } = await live();
  await act(() => hook.result.current.start());
  act(() => first.pc.set('failed'));
  await waitFor(() => expect(hook.result.current.status).toBe('ready'), { timeout: 5000 });
  expect(onError).toHaveBeenLastCalledWith('Could not go live');
  expect(publish).toHaveBeenCalledTimes(2);
});

it('says the channel is already live when the server refuses the start with 409', async () => {
  vi.mocked(publish).mockRejectedValueOnce(new WhipError(409, 'ChannelAlreadyLive', 'Your channel is already live.'));
  const { hook, onError } = await live();
  await act(() => hook.result.current.start());
  expect(hook.result.current.status).toBe('ready');
  expect(onError).toHaveBeenCalledWith('Your channel is already live');
});
