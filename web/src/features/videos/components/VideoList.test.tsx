import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { duration } from '../api/videos';
import { RecordingSettings } from './RecordingSettings';
import { VideoList } from './VideoList';

afterEach(() => vi.unstubAllGlobals());

const video = (id: string, title: string, seconds: number, hidden = false) => ({
  id, channelId: 'ch1', title, startedAt: '2026-11-25T12:00:00Z', endedAt: '2026-11-25T12:10:00Z', durationSeconds: seconds, hidden,
  playbackUrl: `/hls/vod/${id}/index.m3u8`, posterUrl: id === 'st-a' ? `/hls/vod/${id}/poster.jpg` : undefined,
});

describe('VideoList', () => {
  it('lists past broadcasts with their duration, linking to each', async () => {
    mockFetch({ 'GET /api/channels/alice/videos': { status: 200, body: { videos: [video('st-a', 'Friday stream', 3725), video('st-b', '', 42, true)] } } });
    renderAt(<VideoList username="alice" />);
    const links = await screen.findAllByRole('link');
    expect(links).toHaveLength(2);
    expect(links[0]).toHaveAttribute('href', '/alice/videos/st-a');
    expect(within(links[0]).getByText('Friday stream')).toBeInTheDocument();
    expect(within(links[0]).getByTestId('video-duration')).toHaveTextContent('1:02:05');
    expect(links[0].querySelector('img')).toHaveAttribute('src', '/hls/vod/st-a/poster.jpg');
    expect(within(links[1]).getByText(/Broadcast of/)).toBeInTheDocument();
    expect(within(links[1]).getByText(/Private/)).toBeInTheDocument();
    expect(links[1].querySelector('img')).toBeNull();
  });

  it('has an empty state', async () => {
    mockFetch({ 'GET /api/channels/alice/videos': { status: 200, body: { videos: [] } } });
    renderAt(<VideoList username="alice" />);
    expect(await screen.findByText('No past broadcasts yet.')).toBeInTheDocument();
  });
});

describe('duration', () => {
  it.each([
    [0, '0:00'],
    [59.6, '1:00'],
    [125, '2:05'],
    [3600, '1:00:00'],
  ])('%s s is %s', (s, want) => expect(duration(s)).toBe(want));
});

describe('RecordingSettings', () => {
  it('shows and changes the channel’s recording switch', async () => {
    const calls = mockFetch({
      'GET /api/me/recording': { status: 200, body: { enabled: true } },
      'PUT /api/me/recording': { status: 200, body: { enabled: false } },
    });
    renderAt(<RecordingSettings />);
    const box = await screen.findByTestId('recording-enabled');
    await waitFor(() => expect(box).toBeChecked());
    await userEvent.click(box);
    await waitFor(() => expect(box).not.toBeChecked());
    expect(calls.filter((c) => c.key === 'PUT /api/me/recording').map((c) => c.body)).toEqual([{ enabled: false }]);
  });
});
