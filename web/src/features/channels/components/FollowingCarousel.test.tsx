import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockFetch, renderAt } from '../../../test/render';
import { FollowingCarousel } from './FollowingCarousel';

afterEach(() => vi.unstubAllGlobals());

const channel = (i: number) => ({ channelId: `ch${i}`, username: `user${i}`, color: 'blue', avatar: 'bear', isLive: i === 0 });

describe('FollowingCarousel', () => {
  it('pages through followed channels five at a time on a wide screen', async () => {
    window.innerWidth = 1280;
    mockFetch({ 'GET /api/me/following': { status: 200, body: { channels: [0, 1, 2, 3, 4, 5].map(channel) } } });
    renderAt(<FollowingCarousel />);
    expect(await screen.findAllByTestId('followed-user')).toHaveLength(5);
    const prev = screen.getByRole('button', { name: 'Go to previous page' });
    const next = screen.getByRole('button', { name: 'Go to next page' });
    expect(prev).toBeDisabled();
    expect(next).toBeEnabled();
    await userEvent.click(next);
    const users = screen.getAllByTestId('followed-user');
    expect(users).toHaveLength(1);
    expect(within(users[0]).getByText('user5')).toBeInTheDocument();
    expect(prev).toBeEnabled();
    expect(next).toBeDisabled();
    expect(screen.queryByRole('link', { name: 'View all' })).not.toBeInTheDocument();
  });

  it('shows at most 14 and links to the full list', async () => {
    mockFetch({ 'GET /api/me/following': { status: 200, body: { channels: Array.from({ length: 20 }, (_, i) => channel(i)) } } });
    renderAt(<FollowingCarousel />);
    expect(await screen.findByRole('link', { name: 'View all' })).toHaveAttribute('href', '/following');
  });

  it('has an empty state', async () => {
    mockFetch({ 'GET /api/me/following': { status: 200, body: { channels: [] } } });
    renderAt(<FollowingCarousel />);
    expect(await screen.findByText('No channels followed')).toBeInTheDocument();
  });
});
