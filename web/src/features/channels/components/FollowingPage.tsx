import { Spinner } from '../../../components/Spinner';
import { useFollowing } from '../api/channels';
import { ChannelCardView } from './ChannelCardView';

export function FollowingPage() {
  const following = useFollowing(true);
  return (
    <main className="page">
      <h1>Following</h1>
      {following.isPending && <Spinner />}
      {following.isError && <p className="error-text">Failed to load channels</p>}
      {following.data && following.data.channels.length === 0 && (
        <div className="empty">
          <p className="empty-title">No channels followed</p>
          <p className="muted">Follow channels to see them here.</p>
        </div>
      )}
      {following.data && following.data.channels.length > 0 && (
        <div className="channel-grid" data-testid="following-grid">
          {following.data.channels.map((c) => (
            <ChannelCardView key={c.channelId} channel={c} />
          ))}
        </div>
      )}
    </main>
  );
}
