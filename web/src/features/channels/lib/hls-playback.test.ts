import { afterEach, describe, expect, it, vi } from 'vitest';
import { adoptWithin, resetEarly, startEarly, startPlayback, takeEarly } from './hls-playback';

// A stand-in for hls.js that records what it was asked.
const made = vi.hoisted(() => [] as { config: { xhrSetup?: (xhr: { open: (m: string, u: string) => void }, url: string) => void }; loaded?: string; media?: HTMLMediaElement; destroyed: boolean }[]);
vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', ERROR: 'error' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError' };
    static DefaultConfig = { loader: class {} };
    rec;
    constructor(config: (typeof made)[number]['config']) {
      this.rec = { config, destroyed: false } as (typeof made)[number];
      made.push(this.rec);
    }
    on() {}
    loadSource(url: string) { this.rec.loaded = url; }
    attachMedia(m: HTMLMediaElement) { this.rec.media = m; }
    destroy() { this.rec.destroyed = true; }
  }
  return { default: FakeHls };
});

afterEach(() => {
  resetEarly();
  made.length = 0;
  vi.useRealTimers();
});

// opened is the URL a request for url goes to, through hls.js's xhrSetup.
function opened(i: number, url: string) {
  const open = vi.fn();
  made[i].config.xhrSetup?.({ open }, url);
  return new URL(open.mock.calls[0][1], 'http://localhost');
}

describe('startPlayback', () => {
  it('loads the source with the token and sends the current holder’s token on every request', () => {
    const video = document.createElement('video');
    const p = startPlayback(video, '/hls/ch/index.m3u8', 'first');
    expect(made).toHaveLength(1);
    expect(new URL(made[0].loaded!, 'http://localhost').searchParams.get('token')).toBe('first');
    expect(made[0].media).toBe(video);
    expect(opened(0, 'http://localhost/hls/ch/part1.mp4').searchParams.get('token')).toBe('first');
    p.token = { current: 'renewed' };
    expect(opened(0, 'http://localhost/hls/ch/part2.mp4').searchParams.get('token')).toBe('renewed');
  });
});

describe('early playback', () => {
  it('is handed once to the Player of its stream, with its video; nothing starts early after that', () => {
    const p = startEarly('/hls/ch/index.m3u8', 't');
    expect(p).toBeDefined();
    expect(made).toHaveLength(1);
    expect(made[0].media).toBe(p!.video);
    expect(p!.video.isConnected).toBe(false); // the Player puts it in the page
    expect(takeEarly('/hls/ch/index.m3u8')).toBe(p);
    expect(takeEarly('/hls/ch/index.m3u8')).toBeUndefined();
    expect(startEarly('/hls/ch/index.m3u8', 't')).toBeUndefined();
    expect(made).toHaveLength(1);
    expect(made[0].destroyed).toBe(false);
  });

  it('is stopped when a Player asks for another stream', () => {
    startEarly('/hls/one/index.m3u8', 't');
    expect(takeEarly('/hls/two/index.m3u8')).toBeUndefined();
    expect(made[0].destroyed).toBe(true);
  });

  it('does not start once a Player has asked (it would have nobody to show it)', () => {
    expect(takeEarly('/hls/ch/index.m3u8')).toBeUndefined();
    expect(startEarly('/hls/ch/index.m3u8', 't')).toBeUndefined();
    expect(made).toHaveLength(0);
  });

  it('is stopped when no Player takes it in time', () => {
    vi.useFakeTimers();
    startEarly('/hls/ch/index.m3u8', 't');
    vi.advanceTimersByTime(adoptWithin - 1);
    expect(made[0].destroyed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(made[0].destroyed).toBe(true);
    expect(takeEarly('/hls/ch/index.m3u8')).toBeUndefined();
  });
});
