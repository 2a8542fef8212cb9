import { useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import type { SessionSummary } from '../api/sessions';
import { groupSessions, sessionLabel } from './format';

type Props = {
  sessions: SessionSummary[]; // newest first
  current: string;
  hasMore: boolean;
  loadMore: () => void;
  loadingMore: boolean;
};

// SessionNavigator picks a session: a dropdown grouped by age, and arrows to the previous
// (older) and next (newer) session.
export function SessionNavigator({ sessions, current, hasMore, loadMore, loadingMore }: Props) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const i = sessions.findIndex((s) => s.id === current);
  const here = sessions[i];
  const older = i >= 0 ? sessions[i + 1] : undefined;
  const newer = i > 0 ? sessions[i - 1] : undefined;

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    // Escape closes it and gives focus back to the button that opened it.
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      toggle.current?.focus();
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const go = (id: string) => {
    setOpen(false);
    navigate(`/health/${id}`);
  };

  return (
    <div className="session-nav" ref={box}>
      <button type="button" className="carousel-nav" aria-label="Go to previous session" disabled={!older} onClick={() => older && go(older.id)}>
        ‹
      </button>
      <button ref={toggle} type="button" className="btn btn-secondary session-current" aria-label={`Choose a stream session: ${here ? sessionLabel(here) : 'Stream session'}${here?.isLive ? ' LIVE' : ''}`} aria-haspopup="true" aria-expanded={open} onClick={() => setOpen(!open)}>
        {here ? sessionLabel(here) : 'Stream session'}
        {here?.isLive && <span className="live-pill">LIVE</span>}
        <span aria-hidden="true"> ▾</span>
      </button>
      <button type="button" className="carousel-nav" aria-label="Go to next session" disabled={!newer} onClick={() => newer && go(newer.id)}>
        ›
      </button>
      {open && (
        <div className="session-dropdown" data-testid="stream-session-dropdown">
          {groupSessions(sessions, new Date()).map((g) => (
            <div key={g.title} className="session-group">
              <p className="session-group-title">{g.title}</p>
              {g.sessions.map((s) => (
                <button
                  key={s.id}
                  type="button"
                  className={`session-item${s.id === current ? ' session-item-current' : ''}`}
                  aria-label={`Navigate to stream session ${s.id}`}
                  onClick={() => go(s.id)}
                >
                  <span>{sessionLabel(s)}</span>
                  {s.isLive && <span className="live-pill">LIVE</span>}
                  {s.hasErrorEvent && <span className="error-dot" title="This session had an error" aria-label="had an error" />}
                </button>
              ))}
            </div>
          ))}
          {hasMore && (
            <button type="button" className="btn btn-ghost" onClick={loadMore} disabled={loadingMore}>
              Load more sessions
            </button>
          )}
        </div>
      )}
    </div>
  );
}
