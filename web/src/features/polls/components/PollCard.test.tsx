import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { emitRoomEvent } from '../../../lib/room-events';
import { mockFetch, renderAt } from '../../../test/render';
import { merge, type Poll } from '../api/polls';
import { PollCard } from './PollCard';

const poll = (over: Partial<Poll> = {}): Poll => ({
  id: 'poll_1',
  sessionId: 'st-1',
  question: 'Next game?',
  options: [
    { label: 'Chess', votes: 1 },
    { label: 'Go', votes: 0 },
  ],
  votes: 1,
  startedAt: new Date().toISOString(),
  endsAt: new Date(Date.now() + 60_000).toISOString(),
  myVote: null,
  ...over,
});

describe('merge', () => {
  it('keeps the newer state of a poll', () => {
    const open2 = poll({ votes: 2 });
    expect(merge(open2, poll({ votes: 1 }))).toBe(open2); // a stale tally from another node
    expect(merge(poll({ votes: 1 }), open2).votes).toBe(2);
    const closed = poll({ votes: 2, closedAt: new Date().toISOString() });
    expect(merge(closed, poll({ votes: 3 }))).toBe(closed);
    expect(merge(poll({ myVote: 1 }), poll({ votes: 2, myVote: undefined })).myVote).toBe(1);
    expect(merge(poll(), poll({ id: 'poll_2', votes: 0 })).id).toBe('poll_2');
  });
});

describe('PollCard', () => {
  it('shows the tally to a signed-out viewer, asks them to sign in, and follows room events', async () => {
    mockFetch({
      'GET /api/channels/streamer/poll': { status: 200, body: { poll: poll() } },
      'GET /api/session': { status: 200, body: { user: null } },
    });
    renderAt(<PollCard channel="streamer" color="blue" />);
    expect(await screen.findByText('Next game?')).toBeInTheDocument();
    expect(screen.getByTestId('poll-count-0')).toHaveTextContent('1 (100%)');
    await waitFor(() => expect(screen.getByText('Sign in to vote.')).toBeInTheDocument());
    act(() => emitRoomEvent('Streamer', { name: 'app:POLL', attributes: { poll: JSON.stringify(poll({ votes: 4, options: [{ label: 'Chess', votes: 1 }, { label: 'Go', votes: 3 }] })) } }));
    await waitFor(() => expect(screen.getByTestId('poll-count-1')).toHaveTextContent('3 (75%)'));
    act(() => emitRoomEvent('streamer', { name: 'app:POLL', attributes: { poll: JSON.stringify(poll({ votes: 4, closedAt: new Date().toISOString() })) } }));
    expect(await screen.findByText('Poll results')).toBeInTheDocument();
  });

  it('sends a signed-in viewer’s vote once and shows it', async () => {
    const calls = mockFetch({
      'GET /api/channels/streamer/poll': { status: 200, body: { poll: poll() } },
      'GET /api/session': { status: 200, body: { user: { id: 'u1', username: 'viewer' } } },
      'POST /api/channels/streamer/poll/votes': { status: 201, body: poll({ votes: 2, options: [{ label: 'Chess', votes: 1 }, { label: 'Go', votes: 1 }], myVote: 1 }) },
    });
    const user = userEvent.setup();
    renderAt(<PollCard channel="streamer" color="blue" />);
    await waitFor(() => expect(screen.queryByText('Sign in to vote.')).not.toBeInTheDocument());
    await user.click(await screen.findByTestId('poll-option-1'));
    await waitFor(() => expect(screen.getByTestId('poll-total')).toHaveTextContent('2 votes'));
    expect(calls.filter((c) => c.key === 'POST /api/channels/streamer/poll/votes')).toEqual([{ key: 'POST /api/channels/streamer/poll/votes', body: { option: 1 } }]);
    expect(screen.getByTestId('poll-option-0')).toBeDisabled();
  });
});
