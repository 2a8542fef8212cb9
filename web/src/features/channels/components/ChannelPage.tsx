import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { isApiError } from '../../../lib/api-client';
import { stackedQuery, useMediaQuery } from '../../../lib/media-query';
import { colorValue } from '../../../lib/profile';
import { useMe } from '../../../lib/session';
import { useToast } from '../../../lib/toast';
import { Avatar } from '../../../components/Avatar';
import { Spinner } from '../../../components/Spinner';
import { useBan, useChannel, useFollow, useMyBans } from '../api/channels';
import { stripToken } from '../lib/playback';
import { channelIdOf, RealtimePlayer, RealtimeToggle, useRealtimeChoice } from './RealtimePlayer';
import { StreamInfoLine } from './StreamInfoLine';

// hls.js is large: it is its own chunk, outside the initial JavaScript. The channel page starts
// loading it at once, alongside the channel's data, rather than after that data says the
// channel is live: for a live channel the first frame comes one round trip sooner (on a
// channel page the boot script has preloaded it already). It is not React.lazy: a Suspense
// boundary that showed its fallback holds the revealed player back by up to 300 ms.
type PlayerModule = typeof import('./Player');
let playerModule: PlayerModule | undefined;
const loadPlayer = () => import('./Player').then((m) => (playerModule = m));

// usePlayer is the player component once its chunk is loaded; failed is set if it cannot be.
function usePlayer() {
  const [mod, setMod] = useState(playerModule);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (mod) return;
    let live = true;
    loadPlayer().then(
      (m) => live && setMod(m),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [mod]);
  return { Player: mod?.Player, failed };
}

// chatWithin bounds how long a live channel's chat waits for the video's first frame.
const chatWithin = 3000;

// useAfterFirstFrame holds back what a live channel page draws beside its video (chat: a
// token, a WebSocket, the history rendered) until the video shows its first frame, or for
// chatWithin at most: on a busy machine they compete for the same CPU. ready is true at once
// where there is no video to wait for.
function useAfterFirstFrame(waiting: boolean) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!waiting || shown) return;
    const t = window.setTimeout(() => setShown(true), chatWithin);
    return () => window.clearTimeout(t);
  }, [waiting, shown]);
  return { ready: !waiting || shown, onFirstFrame: () => setShown(true) };
}

type ChatSlot = (channel: { username: string; isOwner: boolean; isBanned: boolean }) => ReactNode;
// OverlaySlot draws stream actions: over the player, or (quiz and products on stacked layouts)
// in a tab beside chat.
type OverlaySlot = (channel: { username: string; color: string; isLive: boolean; placement: 'player' | 'tab'; stacked: boolean }) => ReactNode;

// VideosSlot lists the channel's past broadcasts.
type VideosSlot = (username: string) => ReactNode;

// BellSlot rings a followed channel's go-live notices, beside Follow.
type BellSlot = (username: string) => ReactNode;

// StageSlot shows the channel's open stage (watched over WebRTC, with "Request to join").
type StageSlot = (channel: { username: string; playbackToken?: string; me?: string }) => ReactNode;

// ChannelPage shows a channel; the app passes in the chat panel and the past broadcasts
// (features do not import each other).
export function ChannelPage({ profile = false, chat, overlay, videos, bell, stage }: { profile?: boolean; chat?: ChatSlot; overlay?: OverlaySlot; videos?: VideosSlot; bell?: BellSlot; stage?: StageSlot }) {
  const { username = '' } = useParams();
  const channel = useChannel(username);
  const me = useMe();
  const follow = useFollow(username);
  const navigate = useNavigate();
  const location = useLocation();
  const [params, setParams] = useSearchParams();
  const toast = useToast();
  const autoFollowed = useRef(false);
  const myName = me.data?.username;
  const bans = useMyBans(profile && me.data && me.data.username.toLowerCase() !== username.toLowerCase() ? myName : undefined);
  const banMutation = useBan(myName);
  const stacked = useMediaQuery(stackedQuery);
  const [tab, setTab] = useState<'chat' | 'actions'>('chat');
  const { Player, failed: playerFailed } = usePlayer();
  const rt = useRealtimeChoice();
  const side = useAfterFirstFrame(!!channel.data?.isLive && !channel.data.isBanned && !playerFailed && !rt.realtime);

  // Back from signing in after a signed-out Follow click: follow now.
  useEffect(() => {
    if (params.get('follow') !== '1' || !me.data || !channel.data || autoFollowed.current) return;
    autoFollowed.current = true;
    setParams({}, { replace: true });
    if (!channel.data.isFollowed && !channel.data.isOwner) follow.mutate(true, { onError: () => toast.error('Failed to follow user') });
  }, [params, me.data, channel.data, follow, setParams, toast]);

  if (channel.isPending) return <main className="page"><Spinner /></main>;
  if (channel.isError) {
    // The owner's account is suspended by an operator: the API shows nothing of the channel.
    if (isApiError(channel.error, 'ChannelUnavailable')) {
      return (
        <main className="page not-found">
          <h1>Channel unavailable</h1>
          <p className="muted">“{username}” is currently unavailable.</p>
          <Link to="/" className="btn btn-primary">
            Back to live streams
          </Link>
        </main>
      );
    }
    if (isApiError(channel.error) && channel.error.status === 404) {
      return (
        <main className="page not-found">
          <h1>Channel not found</h1>
          <p className="muted">There is no channel called “{username}”. It may have been renamed or deleted.</p>
          <Link to="/" className="btn btn-primary">
            Back to live streams
          </Link>
        </main>
      );
    }
    return <main className="page"><p className="error-text">Could not load this channel.</p></main>;
  }
  const ch = channel.data;
  // A private channel the viewer is not allowed on: nothing of its stream, chat or videos.
  const shut = !!ch.isPrivate && ch.mayWatch === false && !ch.isBanned;
  const onFollow = () => {
    if (!me.data) {
      navigate('/login', { state: { from: `/${ch.username}?follow=1` } });
      return;
    }
    const next = !ch.isFollowed;
    follow.mutate(next, { onError: () => toast.error(next ? 'Failed to follow user' : 'Failed to unfollow user') });
  };
  const copyLink = async () => {
    const url = `${window.location.origin}/${ch.username}`;
    try {
      await navigator.clipboard.writeText(url);
      toast.success('Channel link copied');
    } catch {
      toast.error(`Copy failed: ${url}`);
    }
  };

  return (
    <main className="page channel-page">
      <div className="channel-main">
        {profile && (
          <div className="channel-banner" data-testid="channel-banner" style={{ background: ch.bannerUrl ? `center / cover url(${ch.bannerUrl})` : colorValue[ch.color] }}>
            {ch.bannerUrl && <img src={ch.bannerUrl} alt={`${ch.username}'s banner`} />}
          </div>
        )}
        <header className="channel-header">
          <Link to={profile ? `/${ch.username}` : `/${ch.username}/profile`} aria-label={profile ? 'Back to the stream' : `Open ${ch.username}'s profile`}>
            <Avatar username={ch.username} avatar={ch.avatar} avatarUrl={ch.avatarUrl} color={ch.color} size={56} live={ch.isLive} />
          </Link>
          <div className="channel-title">
            <h1>{ch.username}</h1>
            {ch.isLive ? <span className="live-pill">LIVE</span> : <span className="offline-pill">Offline</span>}
            <StreamInfoLine title={ch.title} category={ch.category} categoryName={ch.categoryName} tags={ch.tags} />
          </div>
          <div className="channel-actions">
            {profile && (
              <button type="button" className="btn btn-secondary" onClick={copyLink}>
                Copy channel link
              </button>
            )}
            {profile && bans.data && (
              <BanButton
                banned={bans.data.users.some((u) => u.username.toLowerCase() === ch.username.toLowerCase())}
                onChange={(ban) =>
                  banMutation.mutate(
                    { user: ch.username, ban },
                    {
                      onSuccess: () => toast.success(ban ? 'User banned from your channel' : 'User unbanned from your channel'),
                      onError: () => toast.error(ban ? 'Failed to ban user' : 'Failed to unban user'),
                    },
                  )
                }
              />
            )}
            {!ch.isOwner && (
              <button type="button" className={`btn ${ch.isFollowed ? 'btn-secondary' : 'btn-primary'}`} onClick={onFollow} disabled={follow.isPending} title={ch.isFollowed ? 'Unfollow' : 'Follow'}>
                {ch.isFollowed ? 'Following' : 'Follow'}
              </button>
            )}
            {!ch.isOwner && ch.isFollowed && me.data && bell?.(ch.username)}
          </div>
        </header>
        <section className="player" aria-label="Video player" data-testid="player">
          {ch.isBanned ? (
            <p className="player-message">You are banned from this channel</p>
          ) : shut ? (
            <p className="player-message" data-testid="private-channel">
              This channel is private. {me.data ? 'Ask its owner for an invite.' : 'Sign in if its owner invited you.'}
            </p>
          ) : ch.isLive && ch.playbackUrl && rt.realtime && channelIdOf(ch.playbackUrl) ? (
            <RealtimePlayer key={stripToken(ch.playbackUrl)} channelId={channelIdOf(ch.playbackUrl) ?? ''} token={ch.playbackToken} title={ch.username} onFail={rt.fail}>
              {overlay?.({ username: ch.username, color: ch.color, isLive: ch.isLive, placement: 'player', stacked })}
            </RealtimePlayer>
          ) : ch.isLive && ch.playbackUrl ? (
            Player ? (
              <Player key={stripToken(ch.playbackUrl)} src={stripToken(ch.playbackUrl)} token={ch.playbackToken} title={ch.username} channel={ch.username} poster={ch.thumbnailUrl} onFirstFrame={side.onFirstFrame}>
                {overlay?.({ username: ch.username, color: ch.color, isLive: ch.isLive, placement: 'player', stacked })}
              </Player>
            ) : playerFailed ? (
              <p className="player-message">The player could not be loaded. Reload the page to try again.</p>
            ) : (
              <Spinner label="Loading the player" />
            )
          ) : (
            <p className="player-message">{ch.username} is offline</p>
          )}
          {ch.isLive && rt.failed && (
            <p className="player-note" role="status">
              Real-time playback could not connect ({rt.failed}); playing LL-HLS.
            </p>
          )}
          {ch.isLive && (
            <span className="player-badges">
              <span className="live-pill">LIVE</span>
              {!ch.isBanned && <RealtimeToggle on={rt.realtime} onToggle={rt.toggle} />}
              <span className="viewer-count" data-testid="viewer-count">
                {ch.viewerCount} {ch.viewerCount === 1 ? 'viewer' : 'viewers'}
              </span>
            </span>
          )}
        </section>
        {ch.hasStage && !ch.isBanned && !shut && stage?.({ username: ch.username, playbackToken: ch.playbackToken, me: myName })}
        <p className="muted channel-links">
          {location.pathname.endsWith('/profile') || profile ? null : <Link to={`/${ch.username}/profile`}>View profile</Link>}
          <Link to={`/${ch.username}/videos`}>Videos</Link>
        </p>
        {!ch.isLive && !ch.isBanned && !shut && videos?.(ch.username)}
      </div>
      <div className="channel-side">
        {stacked && overlay && ch.isLive && !ch.isBanned && (
          <div className="side-tabs" role="tablist" aria-label="Chat and stream actions">
            <button type="button" role="tab" aria-selected={tab === 'chat'} onClick={() => setTab('chat')}>
              Chat
            </button>
            <button type="button" role="tab" aria-selected={tab === 'actions'} onClick={() => setTab('actions')}>
              Quiz & products
            </button>
          </div>
        )}
        {stacked && tab === 'actions' && ch.isLive && !ch.isBanned ? (
          <div className="side-tab-panel" role="tabpanel">
            {overlay?.({ username: ch.username, color: ch.color, isLive: ch.isLive, placement: 'tab', stacked })}
          </div>
        ) : shut ? null : side.ready ? (
          chat?.({ username: ch.username, isOwner: ch.isOwner, isBanned: ch.isBanned })
        ) : (
          <div className="chat-pending" aria-hidden="true" />
        )}
      </div>
    </main>
  );
}

// BanButton bans or unbans the user whose profile this is from the viewer's own channel.
function BanButton({ banned, onChange }: { banned: boolean; onChange: (ban: boolean) => void }) {
  return (
    <button type="button" className={`btn ${banned ? 'btn-secondary' : 'btn-danger'}`} onClick={() => onChange(!banned)}>
      {banned ? 'Unban from my channel' : 'Ban from my channel'}
    </button>
  );
}
