import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Player } from './Player';

// A stand-in for hls.js whose latency the test sets.
const fake = vi.hoisted(() => ({ latency: 0, targetLatency: 0.8, liveSyncPosition: 30 as number | null }));
vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', ERROR: 'error' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError' };
    get latency() { return fake.latency; }
    get targetLatency() { return fake.targetLatency; }
    get liveSyncPosition() { return fake.liveSyncPosition; }
    on() {}
    loadSource() {}
    attachMedia() {}
    destroy() {}
  }
  return { default: FakeHls };
});

afterEach(() => vi.useRealTimers());

describe('Player', () => {
  it('jumps to the live edge when it falls behind its target, and not before', () => {
    vi.useFakeTimers();
    render(<Player src="/hls/ch/index.m3u8" title="streamer" />);
    const video = screen.getByTestId('video') as HTMLVideoElement;
    Object.defineProperty(video, 'paused', { value: false });
    video.currentTime = 20;

    fake.latency = fake.targetLatency + 0.5; // a little behind: hls.js's own catch-up handles it
    vi.advanceTimersByTime(3000);
    expect(video.currentTime).toBe(20);

    fake.latency = fake.targetLatency + 1.2; // as far behind as a late join leaves a viewer
    vi.advanceTimersByTime(1000);
    expect(video.currentTime).toBe(30);
  });
});
