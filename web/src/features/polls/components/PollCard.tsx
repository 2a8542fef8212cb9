import { useEffect, useState, type CSSProperties } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { colorValue } from '../../../lib/profile';
import { useMe } from '../../../lib/session';
import { resultsForMs, usePoll, useVote, type Poll } from '../api/polls';

const inverted = new Set(['blue', 'green', 'purple']);

// useNow ticks every 250 ms while a poll counts down or shows its result.
export function useNow(running: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(() => setNow(Date.now()), 250);
    return () => window.clearInterval(t);
  }, [running]);
  return now;
}

// pollEnd is when a poll stops taking votes, in ms.
export const pollEnd = (p: Poll) => Math.min(Date.parse(p.endsAt), p.closedAt ? Date.parse(p.closedAt) : Infinity);

// PollCard is a channel's live poll over its player: viewers vote once (a signed-out viewer
// is asked to sign in), see the tally live, and the result when it ends.
export function PollCard({ channel, color }: { channel: string; color: string }) {
  const poll = usePoll(channel);
  const p = poll.data;
  const now = useNow(!!p);
  if (!p) return null;
  const ended = now >= pollEnd(p);
  if (ended && now - pollEnd(p) > resultsForMs) return null;
  const style = { '--action-bg': colorValue[color] ?? colorValue.blue, '--action-fg': inverted.has(color) ? '#fff' : '#14121f' } as CSSProperties;
  return <PollBody key={p.id} channel={channel} poll={p} ended={ended} now={now} style={style} />;
}

function PollBody({ channel, poll, ended, now, style }: { channel: string; poll: Poll; ended: boolean; now: number; style?: CSSProperties }) {
  const me = useMe();
  const vote = useVote(channel);
  const navigate = useNavigate();
  const location = useLocation();
  const [error, setError] = useState<string>();
  const voted = poll.myVote !== undefined && poll.myVote !== null;
  const showTally = true; // everyone sees the tally, signed in or not
  const left = Math.max(0, Math.ceil((pollEnd(poll) - now) / 1000));
  const top = Math.max(...poll.options.map((o) => o.votes));
  const choose = (i: number) => {
    if (!me.data) {
      navigate('/login', { state: { from: location.pathname } });
      return;
    }
    setError(undefined);
    vote.mutate(i, { onError: (err) => setError(isApiError(err) ? err.message : 'Your vote could not be counted') });
  };
  return (
    <div className="action-card poll-card" style={style} data-testid="poll-card" aria-live="polite">
      <p className="poll-kicker">{ended ? 'Poll results' : `Live poll · ${left} s left`}</p>
      <h3>{poll.question}</h3>
      <ol className="poll-options">
        {poll.options.map((o, i) => {
          const share = poll.votes ? Math.round((o.votes / poll.votes) * 100) : 0;
          const winner = ended && poll.votes > 0 && o.votes === top;
          return (
            <li key={i}>
              <button
                type="button"
                className={`poll-option${poll.myVote === i ? ' mine' : ''}${winner ? ' winner' : ''}`}
                disabled={ended || voted || vote.isPending}
                onClick={() => choose(i)}
                data-testid={`poll-option-${i}`}
              >
                {showTally && <span className="poll-bar" style={{ width: `${share}%` }} aria-hidden="true" />}
                <span className="poll-label">{o.label}</span>
                {showTally && (
                  <span className="poll-count" data-testid={`poll-count-${i}`}>
                    {o.votes} ({share}%)
                  </span>
                )}
              </button>
            </li>
          );
        })}
      </ol>
      <p className="poll-total" data-testid="poll-total">
        {poll.votes} {poll.votes === 1 ? 'vote' : 'votes'}
        {ended ? ' · final' : ''}
      </p>
      {!me.data && !ended && <p className="poll-hint">Sign in to vote.</p>}
      {error && (
        <p className="poll-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
