import { describe, expect, it } from 'vitest';
import { bufferedAhead, catchUpRate, followLiveEdge } from './catch-up';

describe('catchUpRate', () => {
  it('plays at normal speed at the target, or without media ahead to spend', () => {
    expect(catchUpRate(0.6, 0.6, 0.5, 1)).toBe(1);
    expect(catchUpRate(0.65, 0.6, 0.5, 1)).toBe(1); // within the start margin
    expect(catchUpRate(1.2, 0.6, 0.2, 1)).toBe(1); // behind, but the buffer is nearly empty
    expect(catchUpRate(Number.NaN, 0.6, 0.5, 1)).toBe(1);
  });

  it('catches up a little faster when a little behind, faster when further', () => {
    expect(catchUpRate(0.8, 0.6, 0.5, 1)).toBe(1.1);
    expect(catchUpRate(1.1, 0.6, 0.5, 1)).toBe(1.25);
  });

  it('goes on catching up until close to the target, then stops', () => {
    expect(catchUpRate(0.65, 0.6, 0.5, 1.1)).toBe(1.1); // started: on until within settle
    expect(catchUpRate(0.62, 0.6, 0.5, 1.1)).toBe(1);
    expect(catchUpRate(0.9, 0.6, 0.1, 1.25)).toBe(1); // the buffer ran low
  });
});

// fakeVideo is a video element whose playhead and buffer the test sets.
function fakeVideo(currentTime: number, ranges: [number, number][], paused = false) {
  const video = document.createElement('video');
  Object.defineProperty(video, 'currentTime', { value: currentTime, writable: true });
  Object.defineProperty(video, 'paused', { value: paused });
  Object.defineProperty(video, 'buffered', {
    value: { length: ranges.length, start: (i: number) => ranges[i][0], end: (i: number) => ranges[i][1] },
  });
  return video;
}

describe('bufferedAhead', () => {
  it('is the buffered range the playhead is in, from the playhead', () => {
    expect(bufferedAhead(fakeVideo(10, [[0, 5], [9.5, 10.75]]))).toBeCloseTo(0.75);
    expect(bufferedAhead(fakeVideo(10, [[0, 5]]))).toBe(0);
  });
});

describe('followLiveEdge', () => {
  it('sets the rate on timeupdate while live, and puts it back when stopped', () => {
    const video = fakeVideo(10, [[9, 10.8]]);
    const hls = { latency: 1.2, targetLatency: 0.6 as number | null, latestLevelDetails: { live: true } };
    const stop = followLiveEdge(video, hls);
    video.dispatchEvent(new Event('timeupdate'));
    expect(video.playbackRate).toBe(1.25);
    hls.latency = 0.61;
    video.dispatchEvent(new Event('timeupdate'));
    expect(video.playbackRate).toBe(1);
    hls.latency = 1.2;
    video.dispatchEvent(new Event('timeupdate'));
    stop();
    expect(video.playbackRate).toBe(1);
    video.dispatchEvent(new Event('timeupdate'));
    expect(video.playbackRate).toBe(1);
  });

  it('leaves a recording (not live) or a paused video alone', () => {
    const video = fakeVideo(10, [[9, 10.8]]);
    followLiveEdge(video, { latency: 1.2, targetLatency: 0.6, latestLevelDetails: { live: false } });
    video.dispatchEvent(new Event('timeupdate'));
    expect(video.playbackRate).toBe(1);
    const paused = fakeVideo(10, [[9, 10.8]], true);
    followLiveEdge(paused, { latency: 1.2, targetLatency: 0.6, latestLevelDetails: { live: true } });
    paused.dispatchEvent(new Event('timeupdate'));
    expect(paused.playbackRate).toBe(1);
  });
});
