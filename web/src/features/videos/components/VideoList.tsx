import { Link } from 'react-router';
import { Spinner } from '../../../components/Spinner';
import { duration, useChannelVideos } from '../api/videos';

// VideoList lists a channel's past broadcasts, newest first, each linking to its page.
export function VideoList({ username, heading = 'Past broadcasts' }: { username: string; heading?: string }) {
  const videos = useChannelVideos(username);
  if (videos.isPending) return <Spinner label="Loading past broadcasts" />;
  if (videos.isError) return null;
  const list = videos.data.videos;
  return (
    <section className="video-list" aria-label={heading} data-testid="video-list">
      <h2>{heading}</h2>
      {list.length === 0 ? (
        <p className="muted">No past broadcasts yet.</p>
      ) : (
        <ul>
          {list.map((v) => (
            <li key={v.id}>
              <Link to={`/${username}/videos/${v.id}`} className="video-item">
                {v.posterUrl && <img className="video-poster" src={v.posterUrl} alt="" loading="lazy" width={160} height={90} />}
                <span className="video-title">{v.title || `Broadcast of ${new Date(v.startedAt).toLocaleString()}`}</span>
                <span className="muted">
                  {new Date(v.startedAt).toLocaleDateString()} · <span data-testid="video-duration">{duration(v.durationSeconds)}</span>
                  {v.hidden && ' · Private'}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// VideosPage is /:username/videos, the channel's "Videos" tab.
export function VideosPage({ username }: { username: string }) {
  return (
    <main className="page">
      <p>
        <Link to={`/${username}`}>← {username}</Link>
      </p>
      <VideoList username={username} heading={`${username}'s videos`} />
    </main>
  );
}
