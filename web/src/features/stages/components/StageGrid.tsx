import { useEffect, useRef, useState, type ReactNode } from 'react';
import { subscribeUrl, type StageParticipant } from '../api/stages';
import { subscribeTo, type Connection } from '../lib/rtc';

// retries bounds a subscription's attempts while its publisher is still connecting (503
// NotPublishing) or after a dropped connection.
const retries = 20;

// RemoteTile watches one publisher of the stage over its own peer connection.
export function RemoteTile({ stageId, participant, token, onStream }: { stageId: string; participant: StageParticipant; token: string; onStream?: StreamListener }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<'connecting' | 'live' | 'failed'>('connecting');
  const listener = useRef(onStream);
  // The token is read when (re)subscribing, not watched: a spectator's playback token is
  // minted afresh at each reading of the channel, and a subscription lasts beyond it.
  const tokenRef = useRef(token);
  useEffect(() => {
    listener.current = onStream;
    tokenRef.current = token;
  }, [onStream, token]);
  useEffect(() => {
    let conn: Connection | undefined;
    let stopped = false;
    let timer: number | undefined;
    const attempt = async (n: number) => {
      if (stopped) return;
      try {
        const c = await subscribeTo(subscribeUrl(stageId, participant.id), tokenRef.current, (s) => {
          if (video.current && video.current.srcObject !== s) video.current.srcObject = s;
          listener.current?.(participant.id, s);
        });
        if (stopped) {
          c.end();
          return;
        }
        conn = c;
        c.pc.addEventListener('connectionstatechange', () => {
          if (c.pc.connectionState === 'connected') setState('live');
          if (c.pc.connectionState === 'failed' && !stopped && n < retries) {
            c.end();
            timer = window.setTimeout(() => void attempt(n + 1), 1000);
          }
        });
      } catch {
        if (!stopped && n < retries) timer = window.setTimeout(() => void attempt(n + 1), 1000);
        else setState('failed');
      }
    };
    void attempt(0);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      conn?.end();
      listener.current?.(participant.id, undefined);
    };
  }, [stageId, participant.id]);
  return (
    <figure className={participant.kind === 'screen' ? 'stage-tile stage-tile-screen' : 'stage-tile'} data-testid="stage-tile" data-username={participant.username} data-kind={participant.kind ?? 'camera'} data-state={state}>
      <video ref={video} autoPlay playsInline muted data-testid="stage-video" />
      <figcaption>
        {participant.username}
        {participant.role === 'host' && participant.kind !== 'screen' && <span className="stage-role"> · host</span>}
        {state === 'failed' && <span className="error-text"> · could not connect</span>}
      </figcaption>
    </figure>
  );
}

// StreamListener hears of each publisher's stream as it arrives (undefined when it goes).
export type StreamListener = (participantId: string, stream: MediaStream | undefined) => void;

// LocalTile shows the participant's own camera (or, screen, the screen they share).
export function LocalTile({ stream, username, screen }: { stream: MediaStream; username: string; screen?: boolean }) {
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (video.current) video.current.srcObject = stream;
  }, [stream]);
  return (
    <figure className={screen ? 'stage-tile stage-tile-local stage-tile-screen' : 'stage-tile stage-tile-local'} data-testid={screen ? 'stage-local-screen' : 'stage-local'} data-username={username}>
      <video ref={video} autoPlay playsInline muted />
      <figcaption>{screen ? `${username} (your screen)` : `${username} (you)`}</figcaption>
    </figure>
  );
}

// StageGrid watches every publishing participant but those left out (the viewer's own: its
// camera and its screen share). Screen shares come first.
export function StageGrid({ stageId, participants, token, exclude, onStream, children }: { stageId: string; participants: StageParticipant[]; token: string; exclude?: string[]; onStream?: StreamListener; children?: ReactNode }) {
  const screensFirst = (p: StageParticipant) => (p.kind === 'screen' ? 0 : 1);
  const others = participants.filter((p) => p.publishing && !exclude?.includes(p.id)).sort((a, b) => screensFirst(a) - screensFirst(b));
  return (
    <div className="stage-grid" data-testid="stage-grid">
      {children}
      {others.map((p) => (
        <RemoteTile key={p.id} stageId={stageId} participant={p} token={token} onStream={onStream} />
      ))}
      {others.length === 0 && !children && <p className="muted">No one is publishing yet.</p>}
    </div>
  );
}
