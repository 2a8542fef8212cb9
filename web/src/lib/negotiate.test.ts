import { afterEach, describe, expect, it, vi } from 'vitest';
import { negotiate, NegotiationError, preferH264 } from './negotiate';

// fakePC is the part of RTCPeerConnection negotiate uses: gathering completes when told to.
function fakePC(gathering: 'new' | 'complete' = 'complete') {
  const listeners = new Set<() => void>();
  const pc = {
    iceGatheringState: gathering as RTCIceGatheringState,
    localDescription: null as RTCSessionDescriptionInit | null,
    remote: null as RTCSessionDescriptionInit | null,
    createOffer: vi.fn(async () => ({ type: 'offer' as const, sdp: 'v=0 offer' })),
    setLocalDescription: vi.fn(async (d: RTCSessionDescriptionInit) => {
      pc.localDescription = { ...d, sdp: `${d.sdp} with candidates` };
    }),
    setRemoteDescription: vi.fn(async (d: RTCSessionDescriptionInit) => {
      pc.remote = d;
    }),
    addEventListener: (_: string, f: () => void) => listeners.add(f),
    removeEventListener: (_: string, f: () => void) => listeners.delete(f),
    finishGathering: () => {
      pc.iceGatheringState = 'complete';
      for (const f of [...listeners]) f();
    },
    listeners,
  };
  return pc;
}

function answer(status: number, body: string, location?: string) {
  return new Response(body, { status, headers: location ? { Location: location } : {} });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('negotiate', () => {
  it('posts the gathered offer with the token, applies the answer, and DELETEs the location once', async () => {
    const fetch = vi.fn().mockResolvedValueOnce(answer(201, 'v=0 answer', '/api/whip/abc')).mockResolvedValue(answer(200, ''));
    vi.stubGlobal('fetch', fetch);
    const pc = fakePC();
    const s = await negotiate('/api/whip', pc as unknown as RTCPeerConnection, 'key1');
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/whip');
    expect(init).toMatchObject({ method: 'POST', body: 'v=0 offer with candidates', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer key1' } });
    expect(pc.remote).toEqual({ type: 'answer', sdp: 'v=0 answer' });
    expect(s.location).toBe(new URL('/api/whip/abc', window.location.href).toString());

    await s.end();
    await s.end();
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(fetch.mock.calls[1]).toEqual([s.location, { method: 'DELETE', headers: { Authorization: 'Bearer key1' }, keepalive: true }]);
  });

  it('sends no Authorization header without a token', async () => {
    const fetch = vi.fn().mockResolvedValue(answer(201, 'v=0 answer', '/api/whep/c/1'));
    vi.stubGlobal('fetch', fetch);
    await negotiate('/api/whep/c', fakePC() as unknown as RTCPeerConnection);
    expect(fetch.mock.calls[0][1].headers).toEqual({ 'Content-Type': 'application/sdp' });
  });

  it('waits for ICE gathering to complete before posting', async () => {
    const fetch = vi.fn().mockResolvedValue(answer(201, 'v=0 answer', '/x/1'));
    vi.stubGlobal('fetch', fetch);
    const pc = fakePC('new');
    const done = negotiate('/x', pc as unknown as RTCPeerConnection, 't');
    await vi.waitFor(() => expect(pc.listeners.size).toBe(1));
    expect(fetch).not.toHaveBeenCalled();
    pc.finishGathering();
    await done;
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(pc.listeners.size).toBe(0);
  });

  it('posts what it has when gathering does not complete in 2 s', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn().mockResolvedValue(answer(201, 'v=0 answer', '/x/1'));
    vi.stubGlobal('fetch', fetch);
    const pc = fakePC('new');
    const done = negotiate('/x', pc as unknown as RTCPeerConnection, 't');
    await vi.advanceTimersByTimeAsync(1999);
    expect(fetch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it.each([
    { name: 'an API error', status: 409, body: '{"error":{"code":"ChannelAlreadyLive","message":"Your channel is already live."}}', code: 'ChannelAlreadyLive', message: 'Your channel is already live.' },
    { name: 'not JSON', status: 502, body: '<html>bad gateway</html>', code: 'HttpError', message: 'The server refused (502).' },
    { name: 'JSON without an error', status: 400, body: '{"error":{}}', code: 'HttpError', message: 'The server refused (400).' },
  ])('turns a refusal into a NegotiationError: $name', async ({ status, body, code, message }) => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(answer(status, body)));
    const pc = fakePC();
    const err = await negotiate('/x', pc as unknown as RTCPeerConnection, 't').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NegotiationError);
    expect(err).toMatchObject({ status, code, message });
    expect(pc.setRemoteDescription).not.toHaveBeenCalled();
  });
});

describe('preferH264', () => {
  const vp8 = { mimeType: 'video/VP8', clockRate: 90000 };
  const vp9 = { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' };
  const h264mode0 = { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'packetization-mode=0;profile-level-id=42e01f' };
  const h264mode1 = { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
  const h264high = { mimeType: 'video/h264', clockRate: 90000, sdpFmtpLine: 'packetization-mode=1;profile-level-id=640032' };
  const rtx = { mimeType: 'video/rtx', clockRate: 90000 };

  it.each([
    { name: "Chromium's order: VP8 and VP9 first", in: [vp8, rtx, vp9, h264mode0, h264mode1], want: [h264mode1, h264mode0, vp8, rtx, vp9] },
    { name: 'mode 1 after mode 0', in: [h264mode0, h264mode1], want: [h264mode1, h264mode0] },
    { name: 'two mode 1 profiles keep their order, the MIME type in any case', in: [vp8, h264high, h264mode1], want: [h264high, h264mode1, vp8] },
    { name: 'no H.264', in: [vp8, rtx, vp9], want: [vp8, rtx, vp9] },
    { name: 'nothing', in: [], want: [] },
  ])('$name', ({ in: codecs, want }) => {
    expect(preferH264(codecs)).toEqual(want);
  });

  it('leaves the list it was given as it was', () => {
    const codecs = [vp8, h264mode1];
    preferH264(codecs);
    expect(codecs).toEqual([vp8, h264mode1]);
  });
});
