import { describe, expect, it } from 'vitest';
import { zoomQuery } from '../api/sessions';
import { clock, groupSessions, kbps, khz, mbps, MISSING } from './format';

const session = (id: string, startTime: string) => ({ id, startTime, endTime: null, isLive: false, hasErrorEvent: false, isHealthy: true });

describe('groupSessions', () => {
  it('sorts sessions into the reference groups by calendar day', () => {
    const now = new Date(2026, 11, 2, 9, 0);
    const groups = groupSessions(
      [
        session('a', new Date(2026, 11, 2, 0, 5).toISOString()),
        session('b', new Date(2026, 11, 1, 23, 55).toISOString()),
        session('c', new Date(2026, 10, 20).toISOString()),
        session('d', new Date(2026, 5, 1).toISOString()),
      ],
      now,
    );
    expect(groups.map((g) => [g.title, g.sessions.map((s) => s.id)])).toEqual([
      ['Today', ['a']],
      ['Previous 7 days', ['b']],
      ['Previous 30 days', ['c']],
      ['Earlier', ['d']],
    ]);
  });
});

describe('formatting', () => {
  it('formats units and missing values', () => {
    expect(mbps(2_512_000)).toBe('2.51 Mbps');
    expect(kbps(128_000)).toBe('128 kbps');
    expect(khz(44_100)).toBe('44.1 kHz');
    expect(khz(48_000)).toBe('48 kHz');
    expect(mbps(0)).toBe(MISSING);
    expect(clock(3_723_000)).toBe('01:02:03');
  });
});

describe('zoomQuery', () => {
  it('asks for the latest minutes of a session at a period fine enough to draw', () => {
    const now = Date.parse('2026-12-02T10:00:00.250Z');
    expect(zoomQuery(5, null, now)).toBe('?period=1&startTime=2026-12-02T09:55:00Z');
    expect(zoomQuery(60, '2026-12-01T08:30:00Z', now)).toBe('?period=5&startTime=2026-12-01T07:30:00Z');
  });
});
