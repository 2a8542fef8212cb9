import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChannelPrefetch } from '../features/channels/lib/prefetch-types';
import { beforeFirstRender, earlyWithin } from './first-render';

// prefetch is a channel page's head start whose early player settles when told.
function prefetch() {
  let earlyDone = () => undefined as void;
  const early = new Promise<void>((resolve) => (earlyDone = resolve));
  const p: ChannelPrefetch = { username: 'alice', files: new Map(), stopped: false, live: new Promise(() => undefined), early, earlyDone };
  return p;
}

// state tells whether promise has resolved, after the microtasks queued so far.
async function resolved(promise: Promise<unknown>) {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('beforeFirstRender', () => {
  it('does not wait off a channel page', async () => {
    expect(await resolved(beforeFirstRender(undefined))).toBe(true);
  });

  it('waits for the early player and what else it is given', async () => {
    vi.useFakeTimers();
    const p = prefetch();
    let chunk = () => undefined as void;
    const wait = beforeFirstRender(p, new Promise<void>((resolve) => (chunk = resolve)));
    expect(await resolved(wait)).toBe(false);
    p.earlyDone();
    expect(await resolved(wait)).toBe(false);
    chunk();
    expect(await resolved(wait)).toBe(true);
  });

  it('does not hold the page on a failed chunk', async () => {
    vi.useFakeTimers();
    const p = prefetch();
    const wait = beforeFirstRender(p, Promise.reject(new Error('chunk')));
    p.earlyDone();
    expect(await resolved(wait)).toBe(true);
  });

  it('waits earlyWithin at most', async () => {
    vi.useFakeTimers();
    const wait = beforeFirstRender(prefetch());
    vi.advanceTimersByTime(earlyWithin - 1);
    expect(await resolved(wait)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(await resolved(wait)).toBe(true);
  });
});
