import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderAt } from '../../../test/render';
import { ChannelCardView } from './ChannelCardView';

const base = { channelId: 'ch1', username: 'streamer', color: 'blue', avatar: 'bear' };

describe('ChannelCardView', () => {
  it("shows a live channel's thumbnail, and the banner when there is none yet", () => {
    renderAt(<ChannelCardView channel={{ ...base, isLive: true, thumbnailUrl: '/api/channels/streamer/thumbnail.jpg' }} />);
    const img = screen.getByTestId('channel-thumbnail');
    expect(img).toHaveAttribute('src', '/api/channels/streamer/thumbnail.jpg');
    fireEvent.error(img); // the stream's first seconds: 404
    expect(screen.queryByTestId('channel-thumbnail')).not.toBeInTheDocument();
  });

  it('shows no thumbnail for an offline channel', () => {
    renderAt(<ChannelCardView channel={{ ...base, isLive: false, thumbnailUrl: '/api/channels/streamer/thumbnail.jpg' }} />);
    expect(screen.queryByTestId('channel-thumbnail')).not.toBeInTheDocument();
  });
});
