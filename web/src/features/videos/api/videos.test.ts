import { describe, expect, it } from 'vitest';
import { linesUpTo, type ChatLine } from './videos';

const line = (id: string, offsetMs: number): ChatLine => ({ id, offsetMs, sender: { userId: 'u' }, content: id });

describe('linesUpTo', () => {
  const lines = [line('a', 0), line('b', 1500), line('c', 1500), line('d', 10_000)];
  it.each([
    [0, ['a']],
    [1.499, ['a']],
    [1.5, ['a', 'b', 'c']],
    [9.99, ['a', 'b', 'c']],
    [10, ['a', 'b', 'c', 'd']],
    [99, ['a', 'b', 'c', 'd']],
  ])('at %s s shows %j', (seconds, want) => {
    expect(linesUpTo(lines, seconds).map((l) => l.id)).toEqual(want);
  });
  it('shows nothing before the first line or without lines', () => {
    expect(linesUpTo([line('x', 2000)], 1)).toEqual([]);
    expect(linesUpTo([], 5)).toEqual([]);
  });
});
