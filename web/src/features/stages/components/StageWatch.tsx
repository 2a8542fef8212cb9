import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useToast } from '../../../lib/toast';
import { joinStage, useChannelStage, useRequestToJoin, type StageGrant } from '../api/stages';
import { StageGrid } from './StageGrid';
import { StageRoom } from './StageRoom';
import './stages.css';

// StageWatch is the channel page's stage: spectators watch every publisher over WebRTC
// (with the page's playback token); signed-in viewers ask to join, and join once the host
// accepts or with the invite link (?stageInvite=…).
export function StageWatch({ username, playbackToken, me }: { username: string; playbackToken?: string; me?: string }) {
  const stage = useChannelStage(username);
  const request = useRequestToJoin(username);
  const toast = useToast();
  const [params] = useSearchParams();
  const invite = params.get('stageInvite') ?? undefined;
  const [grant, setGrant] = useState<StageGrant>();
  const [message, setMessage] = useState<string>();
  const s = stage.data;
  if (!s) return null;
  const isHost = !!me && me.toLowerCase() === username.toLowerCase();
  const join = async () => {
    try {
      setMessage(undefined);
      setGrant(await joinStage(username, invite));
    } catch (e) {
      toast.error(e instanceof Error ? e.message : 'Could not join the stage.');
    }
  };
  return (
    <section className="stage-watch" aria-label={`${username}'s stage`} data-testid="stage-watch">
      <header className="stage-watch-header">
        <h2>Stage</h2>
        <span className="stage-pill">REAL-TIME</span>
        {!me && <Link to="/login">Sign in to request to join</Link>}
        {me && !isHost && !grant && (
          s.request === 'accepted' || invite ? (
            <button type="button" className="btn btn-primary" onClick={() => void join()}>
              Join stage
            </button>
          ) : s.request === 'requested' ? (
            <>
              <span className="muted">Request sent</span>
              <button type="button" className="btn btn-secondary" onClick={() => request.mutate(false)}>
                Cancel request
              </button>
            </>
          ) : (
            <button type="button" className="btn btn-primary" onClick={() => request.mutate(true, { onError: (e) => toast.error(e.message) })}>
              Request to join
            </button>
          )
        )}
      </header>
      {message && (
        <p className="stage-message" role="alert" data-testid="stage-message">
          {message}
        </p>
      )}
      {grant && me ? (
        <StageRoom
          host={username}
          grant={grant}
          username={me}
          onLeave={(m) => {
            setGrant(undefined);
            setMessage(m);
          }}
        />
      ) : playbackToken ? (
        <StageGrid stageId={s.id} participants={s.participants} token={playbackToken} />
      ) : null}
    </section>
  );
}
