import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { DirectoryPage } from './DirectoryPage';

afterEach(() => vi.unstubAllGlobals());

const channel = (i: number) => ({ channelId: `ch${i}`, username: `user${i}`, color: 'blue', avatar: 'bear', isLive: true, title: `chess ${i}` });
const names = () => screen.getAllByTestId('channel-card').map((c) => within(c).getByText(/^user\d+$/).textContent);

describe('DirectoryPage', () => {
  it('shows more with the cursor of the same search, appends each channel once, and stops at the last page', async () => {
    const calls = mockFetch({
      'GET /api/categories': { status: 200, body: { categories: [{ slug: 'gaming', name: 'Gaming' }] } },
      'GET /api/channels?live=true&category=gaming&q=chess': { status: 200, body: { channels: [0, 1].map(channel), maxResults: 50, next: 'c1' } },
      // A channel already shown (it went live again between the pages) is not shown twice.
      'GET /api/channels?live=true&category=gaming&q=chess&after=c1': { status: 200, body: { channels: [1, 2].map(channel), maxResults: 50, next: 'c2' } },
      'GET /api/channels?live=true&category=gaming&q=chess&after=c2': { status: 200, body: { channels: [channel(3)], maxResults: 50 } },
    });
    renderAt(<DirectoryPage />, { route: '/?q=chess&category=gaming' });
    await screen.findByText('user1');
    expect(names()).toEqual(['user0', 'user1']);

    await userEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await screen.findByText('user2');
    expect(names()).toEqual(['user0', 'user1', 'user2']);

    await userEvent.click(screen.getByRole('button', { name: 'Show more' }));
    await screen.findByText('user3');
    expect(names()).toEqual(['user0', 'user1', 'user2', 'user3']);
    expect(screen.queryByRole('button', { name: 'Show more' })).not.toBeInTheDocument();
    expect(calls.map((c) => c.key).filter((k) => k.includes('after='))).toEqual([
      'GET /api/channels?live=true&category=gaming&q=chess&after=c1',
      'GET /api/channels?live=true&category=gaming&q=chess&after=c2',
    ]);
  });

  it('offers no more when the first page has no next', async () => {
    mockFetch({
      'GET /api/categories': { status: 200, body: { categories: [] } },
      'GET /api/channels?live=true&sort=viewers': { status: 200, body: { channels: [0, 1].map(channel), maxResults: 50 } },
    });
    renderAt(<DirectoryPage />, { route: '/?sort=viewers' });
    await screen.findByText('user1');
    expect(names()).toEqual(['user0', 'user1']);
    expect(screen.queryByRole('button', { name: 'Show more' })).not.toBeInTheDocument();
  });
});
