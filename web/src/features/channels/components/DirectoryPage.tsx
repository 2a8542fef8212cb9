import type { ReactNode } from 'react';
import { useMe } from '../../../lib/session';
import { Spinner } from '../../../components/Spinner';
import { useDirectory } from '../api/channels';
import { ChannelCardView } from './ChannelCardView';
import { FollowingCarousel } from './FollowingCarousel';

// DirectoryPage lists live channels; intro is what the app shows above them (the Go live
// checklist for a newcomer).
export function DirectoryPage({ intro }: { intro?: ReactNode }) {
  const me = useMe();
  const dir = useDirectory();
  return (
    <main className="page">
      {intro}
      {me.data && <FollowingCarousel />}
      <section aria-labelledby="live-heading">
        <h1 id="live-heading">Live streams</h1>
        {dir.isPending && <Spinner />}
        {dir.isError && (
          <div className="empty">
            <p>Error loading streams</p>
            <button type="button" className="btn btn-secondary" onClick={() => dir.refetch()}>
              Try again
            </button>
          </div>
        )}
        {dir.data && dir.data.channels.length === 0 && (
          <div className="empty">
            <p className="empty-title">No live streams available</p>
            <p className="muted">Channels show up here as soon as they go live.</p>
          </div>
        )}
        {dir.data && dir.data.channels.length > 0 && (
          <div className="channel-grid" data-testid="live-grid">
            {dir.data.channels.map((c) => (
              <ChannelCardView key={c.channelId} channel={c} />
            ))}
          </div>
        )}
      </section>
    </main>
  );
}
