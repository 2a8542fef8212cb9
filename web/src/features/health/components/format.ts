// Formatting and grouping for the health pages.
import type { SessionSummary } from '../api/sessions';

export const MISSING = '----';

export function mbps(bps: number | undefined | null, digits = 2): string {
  return bps ? `${(bps / 1e6).toFixed(digits)} Mbps` : MISSING;
}

export function kbps(bps: number | undefined | null): string {
  return bps ? `${Math.round(bps / 1000)} kbps` : MISSING;
}

export function khz(hz: number | undefined | null): string {
  return hz ? `${+(hz / 1000).toFixed(1)} kHz` : MISSING;
}

export function channelsLabel(n: number | undefined | null): string {
  if (!n) return MISSING;
  return n === 1 ? 'Mono' : n === 2 ? 'Stereo' : `${n} channels`;
}

// clock formats a duration as HH:MM:SS.
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export type SessionGroup = { title: string; sessions: SessionSummary[] };

const DAY = 24 * 3600 * 1000;

// groupSessions sorts sessions (newest first) into Today / Previous 7 days / Previous 30
// days / Earlier, by local calendar day, leaving out empty groups.
export function groupSessions(sessions: SessionSummary[], now: Date): SessionGroup[] {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const groups: SessionGroup[] = [
    { title: 'Today', sessions: [] },
    { title: 'Previous 7 days', sessions: [] },
    { title: 'Previous 30 days', sessions: [] },
    { title: 'Earlier', sessions: [] },
  ];
  for (const s of sessions) {
    const t = new Date(s.startTime).getTime();
    const i = t >= midnight ? 0 : t >= midnight - 7 * DAY ? 1 : t >= midnight - 30 * DAY ? 2 : 3;
    groups[i].sessions.push(s);
  }
  return groups.filter((g) => g.sessions.length > 0);
}

export function sessionLabel(s: SessionSummary): string {
  const d = new Date(s.startTime);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
