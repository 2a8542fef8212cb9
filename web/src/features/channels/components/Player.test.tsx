import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetEarly, startEarly } from '../lib/hls-playback';
import { Player } from './Player';

// A stand-in for hls.js whose latency the test sets.
const fake = vi.hoisted(() => ({
  latency: 0,
  targetLatency: 0.8,
  liveSyncPosition: 30 as number | null,
  config: undefined as undefined | { xhrSetup?: (xhr: { open: (method: string, url: string) => void }, url: string) => void },
  loaded: '' as string,
  created: 0,
}));
vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', ERROR: 'error' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError' };
    static DefaultConfig = { loader: class {} };
    get latency() { return fake.latency; }
    get targetLatency() { return fake.targetLatency; }
    get liveSyncPosition() { return fake.liveSyncPosition; }
    constructor(config: typeof fake.config) {
      fake.config = config;
      fake.created++;
    }
    on() {}
    loadSource(url: string) { fake.loaded = url; }
    attachMedia() {}
    destroy() {}
  }
  return { default: FakeHls };
});

afterEach(() => {
  resetEarly();
  fake.created = 0;
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

// jsdom's video elements have no text track list to follow for timed metadata.
Object.defineProperty(HTMLMediaElement.prototype, 'textTracks', {
  configurable: true,
  get: () => Object.assign([], { addEventListener() {}, removeEventListener() {} }),
});

// requested returns the URL hls.js would open for url, through the player's xhrSetup.
function requested(url: string): URL {
  const open = vi.fn();
  fake.config?.xhrSetup?.({ open }, url);
  expect(open).toHaveBeenCalledTimes(1);
  expect(open.mock.calls[0][0]).toBe('GET');
  return new URL(open.mock.calls[0][1], 'http://localhost');
}

describe('Player', () => {
  it('shows the video hls.js started before the page rendered, and says when it has a frame', () => {
    const early = startEarly('/hls/ch/index.m3u8', 'first')!;
    expect(fake.created).toBe(1);
    const onFirstFrame = vi.fn();
    const { unmount } = render(<Player src="/hls/ch/index.m3u8" token="first" title="streamer" onFirstFrame={onFirstFrame} />);
    const video = screen.getByTestId('video');
    expect(video).toBe(early.video);
    expect(video).toHaveAccessibleName('streamer live video');
    expect(fake.created).toBe(1); // no second hls.js
    expect(onFirstFrame).not.toHaveBeenCalled();
    // jsdom has no requestVideoFrameCallback: playback starting stands in for it.
    fireEvent(video, new Event('playing'));
    fireEvent(video, new Event('playing'));
    expect(onFirstFrame).toHaveBeenCalledTimes(1);
    unmount();
    expect(video.isConnected).toBe(false);
  });

  it("shows the channel's live thumbnail as the poster until the first frame", () => {
    render(<Player src="/hls/ch/index.m3u8" title="streamer" poster="/api/channels/streamer/thumbnail.jpg" />);
    expect(screen.getByTestId('video')).toHaveAttribute('poster', '/api/channels/streamer/thumbnail.jpg');
  });

  it('starts its own hls.js for another stream than the one started early', () => {
    const early = startEarly('/hls/other/index.m3u8', 'first')!;
    render(<Player src="/hls/ch/index.m3u8" token="first" title="streamer" />);
    expect(screen.getByTestId('video')).not.toBe(early.video);
    expect(fake.created).toBe(2);
    expect(new URL(fake.loaded, 'http://localhost').pathname).toBe('/hls/ch/index.m3u8');
  });

  it('jumps to the live edge when it falls behind its target, and not before', () => {
    vi.useFakeTimers();
    render(<Player src="/hls/ch/index.m3u8" title="streamer" />);
    const video = screen.getByTestId('video') as HTMLVideoElement;
    Object.defineProperty(video, 'paused', { value: false });
    const state: { readyState: number; bufferedTo: number } = { readyState: HTMLMediaElement.HAVE_METADATA, bufferedTo: 25 };
    Object.defineProperty(video, 'readyState', { get: () => state.readyState });
    Object.defineProperty(video, 'buffered', { get: () => ({ length: 1, start: () => 18, end: () => state.bufferedTo }) });
    video.currentTime = 20;

    fake.latency = fake.targetLatency + 0.5; // a little behind: hls.js's own catch-up handles it
    vi.advanceTimersByTime(3000);
    expect(video.currentTime).toBe(20);

    // Far behind, but not playing yet (no frame to play) or the edge not buffered yet: a jump
    // would throw away what is loading.
    fake.latency = fake.targetLatency + 1.2; // as far behind as a late join leaves a viewer
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBe(20);
    state.readyState = HTMLMediaElement.HAVE_ENOUGH_DATA;
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBe(20);

    state.bufferedTo = 31;
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBe(30);
  });

  it('sends the playback token on every request and swaps in the renewed one', async () => {
    vi.useFakeTimers();
    const beacons: { method: string; body: { token: string }; keepalive?: boolean }[] = [];
    let next = 1;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
        expect(String(input)).toBe('/api/channels/streamer/views');
        beacons.push({ method: init?.method ?? 'GET', body: JSON.parse(String(init?.body)), keepalive: init?.keepalive });
        if (init?.method === 'DELETE') return new Response(null, { status: 204 });
        return new Response(JSON.stringify({ token: `renewed-${next++}`, expiresAt: '2026-12-05T12:02:00Z', renewAfterSeconds: 30 }), { status: 200 });
      }),
    );
    const { unmount } = render(<Player src="http://localhost/hls/ch1/index.m3u8" token="first" title="streamer" channel="streamer" />);
    expect(new URL(fake.loaded).searchParams.get('token')).toBe('first');

    // The beacon goes at once with the page's token; until it answers, requests carry that one.
    expect(beacons[0]).toEqual({ method: 'POST', body: { token: 'first' }, keepalive: undefined });
    await act(async () => undefined);
    for (const name of ['index.m3u8', 'video1_stream.m3u8?_HLS_msn=5&_HLS_part=2', 'seg5_part2.mp4', 'init.mp4', '720p/video1_stream.m3u8']) {
      const u = requested(`http://localhost/hls/ch1/${name}`);
      expect(u.searchParams.get('token')).toBe('renewed-1');
      expect(u.pathname).toBe(new URL(`http://localhost/hls/ch1/${name}`).pathname);
    }
    // Delivery directives stay as they were; a stale token in the URL is replaced.
    const blocking = requested('http://localhost/hls/ch1/video1_stream.m3u8?_HLS_msn=5&_HLS_part=2&token=old');
    expect([blocking.searchParams.get('_HLS_msn'), blocking.searchParams.get('_HLS_part'), blocking.searchParams.getAll('token')]).toEqual(['5', '2', ['renewed-1']]);

    // 30 s later the next beacon sends the current token and the player swaps in the new one.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_000);
    });
    expect(beacons[1]).toEqual({ method: 'POST', body: { token: 'renewed-1' }, keepalive: undefined });
    expect(requested('http://localhost/hls/ch1/seg6.mp4').searchParams.get('token')).toBe('renewed-2');

    // Leaving sends a beacon that outlives the page, so the viewer stops counting at once.
    unmount();
    expect(beacons[2]).toEqual({ method: 'DELETE', body: { token: 'renewed-2' }, keepalive: true });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000);
    });
    expect(beacons).toHaveLength(3);
  });

  it('stops its beacons when the renewal is refused', async () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
        calls.push(init?.method ?? 'GET');
        return new Response(JSON.stringify({ error: { code: 'BannedFromChannel', message: 'You are banned from this channel.' } }), { status: 403 });
      }),
    );
    const { unmount } = render(<Player src="http://localhost/hls/ch1/index.m3u8" token="first" title="streamer" channel="streamer" />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(120_000);
    });
    expect(calls).toEqual(['POST']);
    expect(requested('http://localhost/hls/ch1/seg6.mp4').searchParams.get('token')).toBe('first');
    unmount();
    expect(calls).toEqual(['POST']);
  });
});
