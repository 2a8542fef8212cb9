import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, Navigate, useParams } from 'react-router';
import { Spinner } from '../../../components/Spinner';
import { useMe } from '../../../lib/session';
import { useSession, useSessions, type Session, type SessionSummary } from '../api/sessions';
import { EncoderConfiguration } from './EncoderConfiguration';
import type { Zoom } from './HealthCharts';
import { kbps, mbps } from './format';
import { SessionNavigator } from './SessionNavigator';
import { StreamEvents } from './StreamEvents';
import { StreamStatusBar } from './StreamStatusBar';

// The charts (and uPlot with them) load only when a session is shown.
const HealthCharts = lazy(() => import('./HealthCharts').then((m) => ({ default: m.HealthCharts })));

type Props = {
  // player renders the streamer's own channel (the app passes the channel feature's player).
  player?: (src: string, title: string) => ReactNode;
};

// HealthPage is /health[/:sessionId]: how a stream session is doing or did.
export function HealthPage({ player }: Props) {
  const { sessionId } = useParams();
  const list = useSessions();
  const sessions = list.data?.pages.flatMap((p) => p.sessions) ?? [];

  if (list.isLoading) return <Spinner />;
  if (list.isError) {
    return (
      <main className="page">
        <h1>Stream health</h1>
        <p className="notice notice-error" role="alert">
          Failed to load stream sessions. <button className="btn btn-ghost" onClick={() => list.refetch()}>Try again</button>
        </p>
      </main>
    );
  }
  if (sessions.length === 0) {
    return (
      <main className="page">
        <h1>Stream health</h1>
        <div className="empty" data-testid="no-streams">
          <p className="empty-title">No stream sessions</p>
          <p className="muted">Stream sessions will show up here when there is data.</p>
        </div>
        <article className="notice">
          To monitor stream health you must first start a live stream. <Link to="/settings">Settings</Link>
        </article>
      </main>
    );
  }
  if (!sessionId) return <Navigate to={`/health/${sessions[0].id}`} replace />;
  const latestLive = sessions[0].isLive;
  return (
    <main className="page health">
      <header className="health-head">
        <h1>Stream health</h1>
        <SessionNavigator
          sessions={sessions}
          current={sessionId}
          hasMore={!!list.hasNextPage}
          loadMore={() => list.fetchNextPage()}
          loadingMore={list.isFetchingNextPage}
        />
      </header>
      <SessionView key={sessionId} id={sessionId} summary={sessions.find((x) => x.id === sessionId)} />
      <OwnPlayer live={latestLive} player={player} />
    </main>
  );
}

function SessionView({ id, summary }: { id: string; summary?: SessionSummary }) {
  // The reference's defaults: the latest 5 minutes while live, everything afterwards, until
  // the viewer picks a zoom. Liveness is the session's as last read: one opened between its
  // creation and its first playable part (an encoder's first second) is not live yet.
  const [picked, setPicked] = useState<Zoom | null>(null);
  const [live, setLive] = useState(!!summary?.isLive);
  const zoom = picked ?? (live ? 5 : 'all');
  const q = useSession(id, zoom === 'all' ? undefined : { minutes: zoom, endTime: summary?.endTime });
  const s = q.data;
  if (s && s.isLive !== live) setLive(s.isLive); // adjusted while rendering, React's way for state that follows data
  const wasLive = useRef(false);
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    if (s?.isLive) wasLive.current = true;
    else if (s && wasLive.current) {
      wasLive.current = false;
      setEnded(true);
    }
  }, [s]);
  if (q.isLoading) return <Spinner />;
  if (q.isError || !s) {
    return (
      <p className="notice notice-error" role="alert">
        {q.error?.message ?? 'This stream session could not be loaded.'}
      </p>
    );
  }
  const end = s.endTime ? new Date(s.endTime).getTime() : q.dataUpdatedAt; // live: when the data was read
  return (
    <>
      {ended && (
        <p className="notice" role="status">
          Live stream ended. The summary below covers the whole session.
        </p>
      )}
      <StreamStatusBar session={s} offlineText="Offline" />
      <div className="health-grid">
        <div className="health-main">
          <Suspense fallback={<Spinner label="Loading the charts" />}>
            <HealthCharts metrics={s.metrics} events={s.events} zoom={zoom} onZoom={setPicked} end={end} />
          </Suspense>
          <Measured session={s} />
          <EncoderConfiguration session={s} />
        </div>
        <StreamEvents events={s.events} live={s.isLive} />
      </div>
    </>
  );
}

// Measured shows the averages of the measured metrics over the range the charts show.
function Measured({ session: s }: { session: Session }) {
  const a = s.metrics.averages;
  const items = [
    { key: 'videoBitrate', label: 'Video bitrate', value: mbps(a.videoBitrate) },
    { key: 'framerate', label: 'Frame rate', value: a.framerate ? `${a.framerate.toFixed(1)} fps` : '----' },
    { key: 'keyframeInterval', label: 'Keyframe interval', value: a.keyframeInterval ? `${a.keyframeInterval.toFixed(1)} s` : '----' },
    { key: 'audioBitrate', label: 'Audio bitrate', value: kbps(a.audioBitrate) },
    { key: 'concurrentViews', label: 'Concurrent views', value: a.concurrentViews.toFixed(1) },
  ];
  return (
    <section className="card measured" aria-labelledby="measured-title">
      <h2 id="measured-title">Measured averages</h2>
      <dl className="measured-grid">
        {items.map((i) => (
          <div key={i.key}>
            <dt className="muted">{i.label}</dt>
            <dd data-testid={`measured-${i.key}`}>{i.value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function OwnPlayer({ live, player }: { live: boolean; player?: Props['player'] }) {
  const me = useMe().data;
  if (!me) return null;
  return (
    <aside className="floating-player card" aria-label="Your channel">
      {live && player ? (
        player(me.channel.playbackUrl, me.username)
      ) : (
        <div className="empty">
          <p className="empty-title">Your channel is offline</p>
          <p className="muted">To start streaming, find your ingest server url and stream key in settings.</p>
          <Link className="btn btn-secondary" to="/settings">
            Settings
          </Link>
        </div>
      )}
    </aside>
  );
}
