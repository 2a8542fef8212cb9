import { useCallback, useEffect, useRef, useState } from 'react';
import { useToast } from '../../../lib/toast';
import { joinStage, maxPublishers, useAnswerRequest, useEndStage, useKick, useMyStage, useStartStage, type StageGrant } from '../api/stages';
import { StageRoom } from './StageRoom';
import './stages.css';

// StageMixer broadcasts the stage's mix as the host's channel (the app passes in the
// broadcast feature's; features do not import each other).
export type StageMixer = { update(streams: MediaStream[]): void; start(): Promise<void>; stop(): Promise<void> };

// StageCard is the stream manager's stage: start a collaborative session, copy its invite
// link, accept or reject requests to join, kick participants, join with camera and mic, end.
export function StageCard({ username, createMix }: { username: string; createMix?: () => StageMixer }) {
  const mine = useMyStage(username);
  const start = useStartStage();
  const end = useEndStage();
  const answer = useAnswerRequest();
  const kick = useKick();
  const toast = useToast();
  const [grant, setGrant] = useState<StageGrant>();
  const [copied, setCopied] = useState(false);
  const stage = mine.data;
  const mixer = useRef<StageMixer | undefined>(undefined);
  const streams = useRef<MediaStream[]>([]);
  const [mixing, setMixing] = useState(false);
  const onStreams = useCallback((s: MediaStream[]) => {
    streams.current = s;
    mixer.current?.update(s);
  }, []);
  const stopMix = useCallback(() => {
    void mixer.current?.stop();
    mixer.current = undefined;
    setMixing(false);
  }, []);
  useEffect(() => stopMix, [stopMix]);
  const startMix = async () => {
    if (!createMix) return;
    const m = createMix();
    m.update(streams.current);
    mixer.current = m;
    setMixing(true);
    try {
      await m.start();
      toast.success('The stage is live on your channel');
    } catch (e) {
      stopMix();
      toast.error(e instanceof Error ? e.message : 'Could not broadcast the stage.');
    }
  };

  const copy = async () => {
    if (!stage) return;
    try {
      await navigator.clipboard.writeText(stage.inviteUrl);
      setCopied(true);
    } catch {
      toast.error('Could not copy the link: select it and copy it yourself.');
    }
  };
  const join = async () => {
    try {
      setGrant(await joinStage(username));
    } catch (e) {
      toast.error(e instanceof Error ? e.message : 'Could not join the stage.');
    }
  };
  return (
    <section className="card stage-card" aria-labelledby="stage-card-title" data-testid="stage-card">
      <h2 id="stage-card-title">Stage</h2>
      {!stage ? (
        <>
          <p className="muted">Go live together: invite up to {maxPublishers - 1} guests to publish with you in real time; viewers watch the stage on your channel page.</p>
          <button type="button" className="btn btn-primary" onClick={() => start.mutate(undefined, { onError: (e) => toast.error(e.message) })} disabled={start.isPending}>
            Start stage
          </button>
        </>
      ) : (
        <>
          <p className="muted">
            Stage open{stage.hostPresent ? '' : ' — it ends 3 minutes after you leave'}.
          </p>
          <div className="stage-invite">
            <input readOnly value={stage.inviteUrl} aria-label="Invite link" data-testid="stage-invite-link" onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="btn btn-secondary" onClick={() => void copy()}>
              {copied ? 'Copied' : 'Copy invite link'}
            </button>
          </div>
          <h3>Requests to join</h3>
          {stage.requests.length === 0 ? (
            <p className="muted">No pending requests.</p>
          ) : (
            <ul className="stage-list" data-testid="stage-requests">
              {stage.requests.map((r) => (
                <li key={r.userId} data-username={r.username}>
                  <span>{r.username}</span>
                  <button type="button" className="btn btn-primary" onClick={() => answer.mutate({ username: r.username, accept: true })}>
                    Accept
                  </button>
                  <button type="button" className="btn btn-secondary" onClick={() => answer.mutate({ username: r.username, accept: false })}>
                    Reject
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h3>
            Participants ({stage.participants.length}/{maxPublishers})
          </h3>
          <ul className="stage-list" data-testid="stage-participants">
            {stage.participants.map((p) => (
              <li key={p.id} data-username={p.username}>
                <span>
                  {p.username} <span className="muted">({p.role}{p.publishing ? ', live' : ''})</span>
                </span>
                {p.kind === 'screen' ? (
                  // Stopping a share leaves its owner on the stage.
                  <button type="button" className="btn btn-secondary" onClick={() => kick.mutate(p.id)} aria-label={`Stop ${p.username}`}>
                    Stop
                  </button>
                ) : (
                  p.role !== 'host' && (
                    <button type="button" className="btn btn-danger" onClick={() => kick.mutate(p.id)} aria-label={`Kick ${p.username}`}>
                      Kick
                    </button>
                  )
                )}
              </li>
            ))}
          </ul>
          {grant ? (
            <>
              <StageRoom
                host={username}
                grant={grant}
                username={username}
                onStreams={onStreams}
                onLeave={() => {
                  stopMix();
                  setGrant(undefined);
                }}
              />
              {createMix &&
                (mixing ? (
                  <button type="button" className="btn btn-secondary" onClick={stopMix}>
                    Stop broadcasting the stage
                  </button>
                ) : (
                  <button type="button" className="btn btn-primary" onClick={() => void startMix()}>
                    Broadcast the stage to my channel
                  </button>
                ))}
            </>
          ) : (
            <button type="button" className="btn btn-secondary" onClick={() => void join()}>
              Join with camera and mic
            </button>
          )}
          <button
            type="button"
            className="btn btn-danger"
            onClick={() => {
              stopMix();
              setGrant(undefined);
              end.mutate(undefined, { onError: (e) => toast.error(e.message) });
            }}
          >
            End stage
          </button>
        </>
      )}
    </section>
  );
}
