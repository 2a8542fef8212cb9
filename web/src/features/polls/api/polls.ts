import { useQuery, useQueryClient, useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api } from '../../../lib/api-client';
import { onRoomEvent } from '../../../lib/room-events';

export type PollOption = { label: string; votes: number };
export type Poll = {
  id: string;
  sessionId: string;
  question: string;
  options: PollOption[];
  votes: number;
  startedAt: string;
  endsAt: string;
  closedAt?: string;
  myVote?: number | null;
};

// The server's limits (internal/polls).
export const pollLimits = { questionMax: 256, optionMax: 40, optionsMin: 2, optionsMax: 5, durationMin: 15, durationMax: 300 };
export const resultsForMs = 20_000;

// pollEvent is the room event that carries a poll's state.
export const pollEvent = 'app:POLL';

const pollKey = (channel: string) => ['poll', channel.toLowerCase()];
const enc = encodeURIComponent;

// merge keeps the newer of two states of the same poll: a closed one over an open one, and
// otherwise the one with more votes (counts only grow; tallies from two nodes may cross).
export function merge(prev: Poll | null | undefined, next: Poll): Poll {
  if (!prev || prev.id !== next.id) return next;
  const myVote = next.myVote ?? prev.myVote;
  if (prev.closedAt && !next.closedAt) return prev;
  if (!prev.closedAt && !next.closedAt && next.votes < prev.votes) return prev;
  return { ...next, myVote };
}

// usePoll is the channel's current poll: fetched on mount (and every 10 s as a fallback),
// updated live by the app:POLL events of the channel's chat room.
export function usePoll(channel: string, enabled = true) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    return onRoomEvent(channel, (e) => {
      if (e.name !== pollEvent) return;
      try {
        const p = JSON.parse(e.attributes.poll) as Poll;
        qc.setQueryData<Poll | null>(pollKey(channel), (prev) => merge(prev, p));
      } catch {
        // a malformed event changes nothing
      }
    });
  }, [channel, enabled, qc]);
  return useQuery({
    queryKey: pollKey(channel),
    queryFn: async () => (await api<{ poll: Poll | null }>('GET', `/api/channels/${enc(channel)}/poll`)).poll,
    enabled,
    refetchInterval: 10_000,
  });
}

export function useVote(channel: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (option: number) => api<Poll>('POST', `/api/channels/${enc(channel)}/poll/votes`, { option }),
    onSuccess: (p) => qc.setQueryData<Poll | null>(pollKey(channel), (prev) => merge(prev, p)),
  });
}

export function useStartPoll(channel: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (input: { question: string; options: string[]; duration: number }) => api<Poll>('POST', `/api/channels/${enc(channel)}/poll`, input),
    onSuccess: (p) => qc.setQueryData<Poll | null>(pollKey(channel), p),
  });
}

export function useEndPoll(channel: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api('DELETE', `/api/channels/${enc(channel)}/poll`),
    onSuccess: () => qc.invalidateQueries({ queryKey: pollKey(channel) }),
  });
}
