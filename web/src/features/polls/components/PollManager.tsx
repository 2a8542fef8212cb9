import { useState, type FormEvent } from 'react';
import { isApiError } from '../../../lib/api-client';
import { useToast } from '../../../lib/toast';
import { pollLimits, resultsForMs, useEndPoll, usePoll, useStartPoll } from '../api/polls';
import { pollEnd, useNow } from './PollCard';

const durations = [15, 30, 60, 120, 300];
const durationLabel = (s: number) => (s < 60 ? `${s} seconds` : s === 60 ? '1 minute' : `${s / 60} minutes`);

// PollManager is the stream manager's poll: ask a question with 2–5 options for 15 s to
// 5 min, watch the tally, end it early.
export function PollManager({ channel }: { channel: string }) {
  const poll = usePoll(channel, !!channel);
  const start = useStartPoll(channel);
  const end = useEndPoll(channel);
  const toast = useToast();
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState(['', '']);
  const [duration, setDuration] = useState(60);
  const [error, setError] = useState<string>();
  const p = poll.data;
  const now = useNow(!!p);
  const running = !!p && now < pollEnd(p);
  const showResult = !!p && !running && now - pollEnd(p) <= resultsForMs;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const opts = options.map((o) => o.trim());
    if (!question.trim()) return setError('Ask a question.');
    if (opts.some((o) => !o)) return setError('Fill in every option or remove it.');
    if (new Set(opts.map((o) => o.toLowerCase())).size !== opts.length) return setError('Options must be different from each other.');
    start.mutate(
      { question: question.trim(), options: opts, duration },
      {
        onSuccess: () => toast.success('Host a poll started'),
        onError: (err) => setError(isApiError(err) ? err.message : 'Unable to start the poll'),
      },
    );
  };

  return (
    <section className="card poll-manager" aria-label="Live poll">
      <h2>Live poll</h2>
      {p && (running || showResult) ? (
        <div data-testid="poll-manager-tally">
          <p className="muted">{running ? `Running · ${Math.max(0, Math.ceil((pollEnd(p) - now) / 1000))} s left` : 'Ended · final result'}</p>
          <h3>{p.question}</h3>
          <ol className="poll-options">
            {p.options.map((o, i) => (
              <li key={i} className="poll-manager-row">
                <span>{o.label}</span> <strong data-testid={`poll-manager-count-${i}`}>{o.votes}</strong>
              </li>
            ))}
          </ol>
          <p className="muted">
            {p.votes} {p.votes === 1 ? 'vote' : 'votes'}
          </p>
          {running && (
            <button type="button" className="btn btn-danger" disabled={end.isPending} onClick={() => end.mutate(undefined, { onError: () => toast.error('Unable to end the poll') })}>
              End poll
            </button>
          )}
        </div>
      ) : null}
      {!running && (
        <form onSubmit={submit} className="poll-form">
          <label className="field">
            <span>Question</span>
            <input className="input" value={question} maxLength={pollLimits.questionMax} onChange={(e) => setQuestion(e.target.value)} aria-label="Poll question" />
          </label>
          <fieldset className="quiz-form-answers">
            <legend>Options</legend>
            {options.map((o, i) => (
              <div className="quiz-form-answer" key={i}>
                <input
                  className="input"
                  value={o}
                  maxLength={pollLimits.optionMax}
                  aria-label={`Option ${i + 1}`}
                  onChange={(e) => setOptions((xs) => xs.map((x, j) => (j === i ? e.target.value : x)))}
                />
                {options.length > pollLimits.optionsMin && (
                  <button type="button" className="btn btn-secondary" aria-label={`Remove option ${i + 1}`} onClick={() => setOptions((xs) => xs.filter((_, j) => j !== i))}>
                    ✕
                  </button>
                )}
              </div>
            ))}
            {options.length < pollLimits.optionsMax && (
              <button type="button" className="btn btn-secondary" onClick={() => setOptions((xs) => [...xs, ''])}>
                Add option
              </button>
            )}
          </fieldset>
          <label className="field">
            <span>Duration</span>
            <select className="input" value={duration} onChange={(e) => setDuration(Number(e.target.value))} aria-label="Poll duration">
              {durations.map((d) => (
                <option key={d} value={d}>
                  {durationLabel(d)}
                </option>
              ))}
            </select>
          </label>
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary" disabled={start.isPending}>
            Start poll
          </button>
        </form>
      )}
    </section>
  );
}
