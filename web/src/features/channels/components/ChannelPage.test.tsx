import { fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { resetEarly } from '../lib/hls-playback';
import { ChannelPage } from './ChannelPage';

// A stand-in for hls.js: the player's chunk loads, nothing plays.
vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', ERROR: 'error' };
    static ErrorTypes = { MEDIA_ERROR: 'mediaError' };
    static DefaultConfig = { loader: class {} };
    on() {}
    loadSource() {}
    attachMedia() {}
    destroy() {}
  }
  return { default: FakeHls };
});

// jsdom's video elements have no text track list to follow for timed metadata.
Object.defineProperty(HTMLMediaElement.prototype, 'textTracks', {
  configurable: true,
  get: () => Object.assign([], { addEventListener() {}, removeEventListener() {} }),
});

const card = { channelId: 'c1', username: 'streamer', color: 'blue', avatar: 'bear', viewerCount: 1, isFollowed: false, isBanned: false, isOwner: false };
const chat = () => <p>the chat</p>;

// jsdom has no matchMedia; the page asks whether to stack its layout (for the whole file: a
// page still mounted while a test ends asks too).
Object.defineProperty(window, 'matchMedia', {
  configurable: true,
  value: (query: string) => ({ matches: false, media: query, addEventListener: () => {}, removeEventListener: () => {} }),
});
afterEach(() => {
  vi.unstubAllGlobals();
  resetEarly();
});

describe('ChannelPage', () => {
  it('shows a private channel’s outsiders that it is private, without its chat or videos', async () => {
    mockFetch({
      'GET /api/channels/streamer': { status: 200, body: { ...card, isLive: false, isPrivate: true, mayWatch: false } },
      'GET /api/session': { status: 200, body: { user: null } },
    });
    renderAt(<ChannelPage chat={chat} videos={() => <p>the videos</p>} />, { path: '/:username', route: '/streamer' });
    expect(await screen.findByTestId('private-channel')).toHaveTextContent('This channel is private.');
    expect(screen.queryByText('the chat')).not.toBeInTheDocument();
    expect(screen.queryByText('the videos')).not.toBeInTheDocument();
  });

  it('says a suspended account’s channel is unavailable, not missing', async () => {
    mockFetch({
      'GET /api/channels/streamer': { status: 404, body: { error: { code: 'ChannelUnavailable', message: 'This channel is unavailable.' } } },
      'GET /api/session': { status: 200, body: { user: null } },
    });
    renderAt(<ChannelPage />, { path: '/:username', route: '/streamer' });
    expect(await screen.findByRole('heading', { name: 'Channel unavailable' })).toBeInTheDocument();
    expect(screen.getByText('“streamer” is currently unavailable.')).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Channel not found' })).not.toBeInTheDocument();
  });

  it('still says an unknown channel is not found', async () => {
    mockFetch({
      'GET /api/channels/nobody': { status: 404, body: { error: { code: 'ChannelNotFound', message: 'There is no channel with this name.' } } },
      'GET /api/session': { status: 200, body: { user: null } },
    });
    renderAt(<ChannelPage />, { path: '/:username', route: '/nobody' });
    expect(await screen.findByRole('heading', { name: 'Channel not found' })).toBeInTheDocument();
  });

  it('draws a live channel’s chat once its video shows a frame', async () => {
    mockFetch({
      'GET /api/channels/streamer': { status: 200, body: { ...card, isLive: true, playbackUrl: '/hls/c1/index.m3u8', playbackToken: 't' } },
      'GET /api/session': { status: 200, body: { user: null } },
      'POST /api/channels/streamer/views': { status: 200, body: { token: 't2', expiresAt: '2026-12-05T12:02:00Z', renewAfterSeconds: 30 } },
    });
    renderAt(<ChannelPage chat={chat} />, { path: '/:username', route: '/streamer' });
    const video = await screen.findByTestId('video');
    expect(screen.queryByText('the chat')).not.toBeInTheDocument();
    fireEvent(video, new Event('playing'));
    expect(await screen.findByText('the chat')).toBeInTheDocument();
  });

  it('draws an offline channel’s chat at once', async () => {
    mockFetch({
      'GET /api/channels/streamer': { status: 200, body: { ...card, isLive: false } },
      'GET /api/session': { status: 200, body: { user: null } },
    });
    renderAt(<ChannelPage chat={chat} />, { path: '/:username', route: '/streamer' });
    expect(await screen.findByText('the chat')).toBeInTheDocument();
    expect(screen.getByText('streamer is offline')).toBeInTheDocument();
  });
});
