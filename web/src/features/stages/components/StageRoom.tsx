import { useCallback, useEffect, useRef, useState } from 'react';
import { kickedMessage, publishUrl, shareScreen, useChannelStage, useStageEvents, type StageEvent, type StageGrant } from '../api/stages';
import { publishStream, type Connection } from '../lib/rtc';
import { LocalTile, StageGrid } from './StageGrid';

// StageRoom is a participant on the stage: its camera and microphone published, every other
// publisher watched, a screen to share, Leave. A kick ends it with the host's message.
// onStreams, if set, hears every stream on the stage (the participant's own first), for the
// host's mix.
export function StageRoom({ host, grant, username, onLeave, onStreams }: { host: string; grant: StageGrant; username: string; onLeave: (message?: string) => void; onStreams?: (streams: MediaStream[]) => void }) {
  const stage = useChannelStage(host);
  const [local, setLocal] = useState<MediaStream>();
  const [error, setError] = useState<string>();
  const [screen, setScreen] = useState<Screen>();
  const screenRef = useRef<Screen | undefined>(undefined);
  const conn = useRef<Connection | undefined>(undefined);
  const remote = useRef(new Map<string, MediaStream>());
  const streamsRef = useRef(onStreams);
  useEffect(() => {
    streamsRef.current = onStreams;
  }, [onStreams]);
  const report = useCallback(() => {
    const all = [...remote.current.values()];
    const own = [local, screen?.stream].filter((x): x is MediaStream => !!x);
    streamsRef.current?.([...own, ...all]);
  }, [local, screen]);
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

  // A screen share is a participant of its own (kind 'screen'): ask for it, then publish the
  // display's stream there. It stops with Stop sharing, with the browser's own stop button
  // (the track ends), when this participant leaves, or when the host stops it.
  const stopScreen = useCallback(() => {
    const sc = screenRef.current;
    screenRef.current = undefined;
    sc?.conn?.end();
    sc?.stream.getTracks().forEach((t) => t.stop());
    setScreen(undefined);
  }, []);
  useEffect(() => stopScreen, [grant, stopScreen]);
  const [starting, setStarting] = useState(false);
  const startScreen = async () => {
    setError(undefined);
    setStarting(true);
    let stream: MediaStream | undefined;
    try {
      // With the tab's (or system's) sound when the browser offers it.
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: true });
      const g = await shareScreen(grant);
      const sc: Screen = { grant: g, stream, listed: false };
      const shared = stream;
      shared.getVideoTracks()[0]?.addEventListener('ended', () => {
        if (screenRef.current?.stream === shared) stopScreen();
      });
      stopScreen();
      screenRef.current = sc;
      setScreen(sc);
      const c = await publishStream(publishUrl(g), g.token, stream);
      if (screenRef.current !== sc) c.end();
      else sc.conn = c;
    } catch (e) {
      if (screenRef.current?.stream === stream) stopScreen();
      else stream?.getTracks().forEach((t) => t.stop());
      setError(e instanceof Error ? e.message : 'Could not share the screen.');
    } finally {
      setStarting(false);
    }
  };
  // The host stopping the share takes it off the stage: stop capturing too.
  useEffect(() => {
    const sc = screenRef.current;
    if (!data || !sc) return;
    const here = data.participants.some((p) => p.id === sc.grant.participantId);
    if (here) sc.listed = true;
    else if (sc.listed) stopScreen();
  }, [data, stopScreen]);

  const leave = () => {
    stopScreen();
    conn.current?.end();
    conn.current = undefined;
    leaveRef.current();
  };
  return (
    <section className="stage-room" aria-label="Stage" data-testid="stage-room">
      {error && <p className="error-text" role="alert">{error}</p>}
      <StageGrid stageId={grant.stageId} participants={stage.data?.participants ?? []} token={grant.token} exclude={screen ? [grant.participantId, screen.grant.participantId] : [grant.participantId]} onStream={onStream}>
        {screen && <LocalTile stream={screen.stream} username={username} screen />}
        {local && <LocalTile stream={local} username={username} />}
      </StageGrid>
      {screen ? (
        <button type="button" className="btn btn-secondary" onClick={stopScreen}>
          Stop sharing
        </button>
      ) : (
        <button type="button" className="btn btn-secondary" disabled={starting || !local || typeof navigator.mediaDevices?.getDisplayMedia !== 'function'} onClick={() => void startScreen()}>
          Share screen
        </button>
      )}
      <button type="button" className="btn btn-secondary" onClick={leave}>
        Leave stage
      </button>
    </section>
  );
}

// Screen is this participant's screen share: its own grant, the captured display, and its
// publication once up.
type Screen = { grant: StageGrant; stream: MediaStream; conn?: Connection; listed: boolean };
