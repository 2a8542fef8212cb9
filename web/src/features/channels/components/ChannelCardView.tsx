import { useState } from 'react';
import { Link } from 'react-router';
import { Avatar } from '../../../components/Avatar';
import { colorValue } from '../../../lib/profile';
import type { ChannelCard } from '../api/channels';
import { StreamInfoLine } from './StreamInfoLine';

// ChannelCardView is a channel in a grid: banner (a live channel's thumbnail over it, once
// there is one), avatar, name and live state.
export function ChannelCardView({ channel }: { channel: ChannelCard }) {
  // The thumbnail 404s in a stream's first seconds: the banner shows instead.
  const [thumbFailed, setThumbFailed] = useState<string>();
  const thumb = channel.isLive && channel.thumbnailUrl && thumbFailed !== channel.thumbnailUrl ? channel.thumbnailUrl : undefined;
  return (
    <Link to={`/${channel.username}`} className="channel-card" data-testid="channel-card">
      <div className="channel-card-banner" style={{ background: channel.bannerUrl ? `center / cover url(${channel.bannerUrl})` : colorValue[channel.color] }}>
        {thumb && (
          <img className="channel-card-thumb" data-testid="channel-thumbnail" src={thumb} alt={`${channel.username} live`} loading="lazy" onError={() => setThumbFailed(thumb)} />
        )}
        {channel.isLive && <span className="live-pill">LIVE</span>}
        {channel.hasStage && (
          <span className="live-pill stage-card-pill" data-testid="stage-pill">
            STAGE
          </span>
        )}
      </div>
      <div className="channel-card-meta">
        <Avatar username={channel.username} avatar={channel.avatar} avatarUrl={channel.avatarUrl} color={channel.color} size={36} live={channel.isLive} />
        <span className="channel-card-name">{channel.username}</span>
        {channel.isLive && channel.viewerCount !== undefined && (
          <span className="channel-card-viewers">
            {channel.viewerCount} {channel.viewerCount === 1 ? 'viewer' : 'viewers'}
          </span>
        )}
      </div>
      <div className="channel-card-info">
        <StreamInfoLine title={channel.title} category={channel.category} categoryName={channel.categoryName} tags={channel.tags} link={false} />
      </div>
    </Link>
  );
}
