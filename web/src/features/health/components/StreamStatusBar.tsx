import { useEffect, useState } from 'react';
import { useLatestSession, type Session } from '../api/sessions';
import { clock } from './format';

type Props = {
  // The session to show; without it the bar follows the account's latest session.
  session?: Session;
  // What the timer says when the session is not live ("--:--:--" in the stream manager,
  // "Offline" on the health page).
  offlineText?: string;
  // Adds "Monitor the latest stream session", opening /health in a new tab.
  monitorLink?: boolean;
};

// lastValue is the newest non-empty value of a series.
function lastValue(values: (number | null)[]): number | undefined {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v != null) return v;
  }
  return undefined;
}

// concurrentViews is what the bar shows: the latest count while live, else the session's
// rounded average.
export function concurrentViews(s: Session | undefined): number {
  if (!s) return 0;
  if (s.isLive) return Math.round(lastValue(s.metrics.concurrentViews) ?? 0);
  return Math.round(s.metrics.averages.concurrentViews);
}

// StreamStatusBar shows a session at a glance: elapsed live time, concurrent views, and
// whether ingest is stable. It reads the same data as the health page.
export function StreamStatusBar(props: Props) {
  return props.session ? <StatusBarView {...props} /> : <LatestStatusBar {...props} />;
}

function LatestStatusBar(props: Props) {
  const latest = useLatestSession();
  return <StatusBarView {...props} session={latest.session} />;
}

function StatusBarView({ session: s, offlineText = '--:--:--', monitorLink = false }: Props) {
  const live = !!s?.isLive;
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [live]);
  const since = s?.streamStartTime ?? s?.startTime;
  const views = concurrentViews(s);
  return (
    <div className="status-bar" aria-label="Stream status">
      <span data-testid="status-item-timer" title="Time live">
        {live && since ? clock(now - new Date(since).getTime()) : offlineText}
      </span>
      <span
        data-testid="status-item-concurrent-views"
        title={live ? 'Concurrent views' : 'Average concurrent views for the entire session'}
      >
        {views} {views === 1 ? 'view' : 'views'}
      </span>
      {live && (
        <span data-testid="status-item-health" className={s.isHealthy ? 'health-stable' : 'health-poor'} title="Stream health">
          {s.isHealthy ? 'Stable' : 'Poor'}
        </span>
      )}
      {monitorLink && (
        <a className="status-bar-link" href="/health" target="_blank" rel="noreferrer">
          Monitor the latest stream session
        </a>
      )}
    </div>
  );
}
