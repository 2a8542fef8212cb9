import Hls from 'hls.js';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { clearAction, followMetadata } from '../../../lib/timed-metadata';
import { useToast } from '../../../lib/toast';
import { Spinner } from '../../../components/Spinner';
import { ChatReplay } from './ChatReplay';
import { duration, useDeleteVideo, useUpdateVideo, useVideo, type Video } from '../api/videos';

// OverlaySlot draws the stream action in force at the playhead, keyed by cues (the app passes
// the actions feature's overlay; features do not import each other).
export type OverlaySlot = (cues: string) => ReactNode;

// VodPlayer plays a recording's VOD playlist with hls.js (or the browser's own HLS), with the
// browser's controls for seeking. The stream actions in it replay over it (under the key
// cues) as the playhead reaches them.
function VodPlayer({ src, title, poster, cues, onTime, children }: { src: string; title: string; poster?: string; cues: string; onTime: (seconds: number) => void; children?: ReactNode }) {
  const video = useRef<HTMLVideoElement>(null);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    if (Hls.isSupported()) {
      const h = new Hls({ backBufferLength: 60 });
      (window as unknown as { livehouseVod?: Hls }).livehouseVod = h;
      h.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) setError('This video could not be played.');
      });
      h.loadSource(src);
      h.attachMedia(v);
      return () => h.destroy();
    }
    v.src = src;
  }, [src]);
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    const stop = followMetadata(v.textTracks, cues);
    const tell = () => onTime(v.currentTime);
    // A seek backwards may land before the action shown: start from none, and let the
    // fragment's announcement bring back the one in force there.
    const onSeek = () => clearAction(cues);
    v.addEventListener('seeking', onSeek);
    v.addEventListener('timeupdate', tell);
    v.addEventListener('seeked', tell);
    return () => {
      stop();
      v.removeEventListener('seeking', onSeek);
      v.removeEventListener('timeupdate', tell);
      v.removeEventListener('seeked', tell);
      clearAction(cues);
    };
  }, [cues, src, onTime]);
  return (
    <section className="player" aria-label="Video player">
      <video ref={video} data-testid="vod-video" controls playsInline aria-label={title} poster={poster} />
      {children}
      {error && <p role="alert" className="player-message">{error}</p>}
    </section>
  );
}

// VideoPage is /:username/videos/:id: one past broadcast, and for its owner rename, hide and
// delete.
export function VideoPage({ username, id, isOwner, overlay }: { username: string; id: string; isOwner: boolean; overlay?: OverlaySlot }) {
  const video = useVideo(id);
  const [time, setTime] = useState(0);
  if (video.isPending) return <main className="page"><Spinner /></main>;
  if (video.isError) {
    const notFound = isApiError(video.error) && video.error.status === 404;
    return (
      <main className="page not-found">
        <h1>{notFound ? 'Video not found' : 'Could not load this video'}</h1>
        <Link to={`/${username}/videos`} className="btn btn-primary">
          {username}'s videos
        </Link>
      </main>
    );
  }
  const v = video.data;
  return (
    <main className="page video-page">
      <p>
        <Link to={`/${username}/videos`}>← {username}'s videos</Link>
      </p>
      <h1 data-testid="video-title">{v.title || `Broadcast of ${new Date(v.startedAt).toLocaleString()}`}</h1>
      <p className="muted">
        {new Date(v.startedAt).toLocaleString()} · {duration(v.durationSeconds)}
        {v.hidden && ' · Private'}
      </p>
      <div className="video-with-chat">
        <VodPlayer src={v.playbackUrl} title={v.title || 'Past broadcast'} poster={v.posterUrl} cues={`vod:${v.id}`} onTime={setTime}>
          {overlay?.(`vod:${v.id}`)}
        </VodPlayer>
        <ChatReplay id={v.id} time={time} />
      </div>
      {isOwner && <OwnerTools username={username} video={v} />}
    </main>
  );
}

function OwnerTools({ username, video }: { username: string; video: Video }) {
  const [title, setTitle] = useState(video.title);
  const update = useUpdateVideo(video.id);
  const del = useDeleteVideo(video.id);
  const toast = useToast();
  const navigate = useNavigate();
  return (
    <section className="video-owner" aria-label="Manage this video">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ title }, { onSuccess: () => toast.success('Video renamed'), onError: () => toast.error('Failed to rename the video') });
        }}
      >
        <label htmlFor="videoTitle">Title</label>
        <input id="videoTitle" value={title} maxLength={140} onChange={(e) => setTitle(e.target.value)} />
        <button type="submit" className="btn btn-secondary" disabled={update.isPending}>
          Rename
        </button>
      </form>
      <button
        type="button"
        className="btn btn-secondary"
        onClick={() => update.mutate({ hidden: !video.hidden }, { onError: () => toast.error('Failed to change the video') })}
      >
        {video.hidden ? 'Make public' : 'Make private'}
      </button>
      <button
        type="button"
        className="btn btn-danger"
        onClick={() => {
          if (!window.confirm('Delete this video? It cannot be undone.')) return;
          del.mutate(undefined, {
            onSuccess: () => {
              toast.success('Video deleted');
              navigate(`/${username}/videos`);
            },
            onError: () => toast.error('Failed to delete the video'),
          });
        }}
      >
        Delete
      </button>
    </section>
  );
}
