import { useCallback, useEffect, useRef, useState } from 'react';
import { kickedMessage, publishUrl, useChannelStage, useStageEvents, type StageEvent, type StageGrant } from '../api/stages';
import { publishStream, type Connection } from '../lib/rtc';
import { LocalTile, StageGrid } from './StageGrid';

// StageRoom is a participant on the stage: its camera and microphone published, every other
// publisher watched, Leave. A kick ends it with the host's message.
// onStreams, if set, hears every stream on the stage (the participant's own first), for the
// host's mix.
export function StageRoom({ host, grant, username, onLeave, onStreams }: { host: string; grant: StageGrant; username: string; onLeave: (message?: string) => void; onStreams?: (streams: MediaStream[]) => void }) {
  const stage = useChannelStage(host);
  const [local, setLocal] = useState<MediaStream>();
  const [error, setError] = useState<string>();
  const conn = useRef<Connection | undefined>(undefined);
  const remote = useRef(new Map<string, MediaStream>());
  const streamsRef = useRef(onStreams);
  useEffect(() => {
    streamsRef.current = onStreams;
  }, [onStreams]);
  const report = useCallback(() => {
    const all = [...remote.current.values()];
    streamsRef.current?.(local ? [local, ...all] : all);
  }, [local]);
  useEffect(report, [report]);
  const onStream = useCallback(
    (id: string, s: MediaStream | undefined) => {
      if (s) remote.current.set(id, s);
      else remote.current.delete(id);
      report();
    },
    [report],
  );
  const leaveRef = useRef(onLeave);
  useEffect(() => {
    leaveRef.current = onLeave;
  }, [onLeave]);

  useEffect(() => {
    let stopped = false;
    let stream: MediaStream | undefined;
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 30 }, audio: true });
        if (stopped) return;
        setLocal(stream);
        const c = await publishStream(publishUrl(grant), grant.token, stream);
        if (stopped) {
          c.end();
          return;
        }
        conn.current = c;
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : 'Could not publish to the stage.');
      }
    })();
    return () => {
      stopped = true;
      conn.current?.end();
      conn.current = undefined;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [grant]);

  const onEvent = useCallback(
    (e: StageEvent) => {
      if (e.stageId !== grant.stageId) return;
      if (e.type === 'STAGE_PARTICIPANT_KICKED' && e.participantId === grant.participantId) leaveRef.current(e.reason ?? kickedMessage);
      if (e.type === 'STAGE_ENDED') leaveRef.current('The stage has ended.');
    },
    [grant],
  );
  useStageEvents(host, onEvent);

  // Without the event (a chat connection that was down), the stage's state still tells: once
  // this participant has been listed, its absence means it is off the stage.
  const listed = useRef(false);
  const data = stage.data;
  useEffect(() => {
    if (data === undefined) return;
    if (data === null || data.id !== grant.stageId) {
      if (listed.current) leaveRef.current('The stage has ended.');
      return;
    }
    const here = data.participants.some((p) => p.id === grant.participantId);
    if (here) listed.current = true;
    else if (listed.current || data.kicked) leaveRef.current(data.kicked ? kickedMessage : 'You are no longer on the stage.');
  }, [data, grant]);

  const leave = () => {
    conn.current?.end();
    conn.current = undefined;
    leaveRef.current();
  };
  return (
    <section className="stage-room" aria-label="Stage" data-testid="stage-room">
      {error && <p className="error-text" role="alert">{error}</p>}
      <StageGrid stageId={grant.stageId} participants={stage.data?.participants ?? []} token={grant.token} exclude={grant.participantId} onStream={onStream}>
        {local && <LocalTile stream={local} username={username} />}
      </StageGrid>
      <button type="button" className="btn btn-secondary" onClick={leave}>
        Leave stage
      </button>
    </section>
  );
}
