import { screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { ChannelPage } from './ChannelPage';

// jsdom has no matchMedia; the page asks whether to stack its layout.
beforeEach(() => {
  vi.stubGlobal('matchMedia', (query: string) => ({ matches: false, media: query, addEventListener: () => {}, removeEventListener: () => {} }));
});
afterEach(() => vi.unstubAllGlobals());

describe('ChannelPage', () => {
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
});
