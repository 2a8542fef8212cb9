import { describe, expect, it } from 'vitest';
import { titleFor } from './title';

describe('titleFor', () => {
  it.each([
    ['/', 'Live channels — Livehouse'],
    ['/alice', 'alice — Livehouse'],
    ['/alice/profile', 'alice — Livehouse'],
    ['/alice/videos/st-1', 'alice — Livehouse'],
    ['/manager', 'Stream manager — Livehouse'],
    ['/health/st-abc', 'Stream health — Livehouse'],
    ['/login', 'Log in — Livehouse'],
    ['/%E0%A4%A', '%E0%A4%A — Livehouse'],
  ])('%s → %s', (path, want) => {
    expect(titleFor(path)).toBe(want);
  });
});
