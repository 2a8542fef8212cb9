import { useState } from 'react';
import type { StreamEvent } from '../api/sessions';

type Props = { events: StreamEvent[]; live: boolean };

// StreamEvents lists a session's events: newest first while live, in order afterwards. Each
// opens to say what it means and, for errors, what to do.
export function StreamEvents({ events, live }: Props) {
  const [open, setOpen] = useState<number | null>(null);
  const shown = events.map((e, i) => ({ e, i }));
  if (live) shown.reverse();
  return (
    <section className="card stream-events" aria-labelledby="stream-events-title">
      <h2 id="stream-events-title">Stream events</h2>
      {shown.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <ol className="event-list">
          {shown.map(({ e, i }) => (
            <li key={i} data-testid="stream-event" data-name={e.name} className={e.severity ? `event-${e.severity}` : undefined}>
              <button
                type="button"
                className="event-button"
                aria-expanded={open === i}
                onClick={() => setOpen(open === i ? null : i)}
              >
                <span className="event-label">{e.label}</span>
                <time dateTime={e.eventTime} className="muted">
                  {new Date(e.eventTime).toLocaleTimeString()}
                </time>
              </button>
              {open === i && <p className="event-message">{e.message || `${e.label} at ${new Date(e.eventTime).toLocaleString()}.`}</p>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
