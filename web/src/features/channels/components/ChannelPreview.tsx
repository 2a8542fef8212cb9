import { lazy, Suspense } from 'react';
import { Link } from 'react-router';
import { Spinner } from '../../../components/Spinner';
import { useChannel } from '../api/channels';
import { stripToken } from '../lib/playback';

const Player = lazy(() => import('./Player').then((m) => ({ default: m.Player })));

// ChannelPreview is a small player of the streamer's own channel (stream manager, health).
export function ChannelPreview({ username }: { username: string }) {
  const channel = useChannel(username);
  const ch = channel.data;
  return (
    <section className="player preview" aria-label="Your channel" data-testid="channel-preview">
      {ch?.isLive && ch.playbackUrl ? (
        <Suspense fallback={<Spinner label="Loading the player" />}>
          <Player key={stripToken(ch.playbackUrl)} src={stripToken(ch.playbackUrl)} token={ch.playbackToken} title={ch.username} channel={ch.username} />
        </Suspense>
      ) : (
        <div className="player-message preview-offline">
          <p>Your channel is offline</p>
          <p className="muted">
            To start streaming, find your ingest server url and stream key in settings. <Link to="/settings">Settings</Link>
          </p>
        </div>
      )}
    </section>
  );
}
