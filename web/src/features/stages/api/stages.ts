import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api, readResponse } from '../../../lib/api-client';
import { onRoomEvent } from '../../../lib/room-events';

// Stages (internal/stages): a host's collaborative session of up to 12 publishers, watched
// over WebRTC. Changes arrive as app:STAGE events in the host channel's chat room; the
// queries also poll as a fallback.

// kind 'screen' is a participant's screen share, a publisher of its own (owner: the sharer's id).
export type StageParticipant = { id: string; userId: string; username: string; role: 'host' | 'invited' | 'requested'; joinedAt: string; publishing: boolean; kind?: 'camera' | 'screen'; owner?: string };
export type Stage = { id: string; host: string; startedAt: string; hostPresent: boolean; participants: StageParticipant[]; request?: 'requested' | 'accepted'; kicked?: boolean };
export type HostStage = Stage & { inviteCode: string; inviteUrl: string; requests: { userId: string; username: string; requestedAt: string }[] };
export type StageGrant = { stageId: string; participantId: string; token: string; role: string };
export type StageEvent = { type: string; stageId: string; channelId: string; participantId?: string; userId?: string; username?: string; reason?: string };

export const stageEvent = 'app:STAGE';
export const maxPublishers = 12;
export const kickedMessage = 'You have been kicked by the host.';

const enc = encodeURIComponent;
const channelStageKey = (channel: string) => ['stage', channel.toLowerCase()];
const myStageKey = ['stage', 'mine'];

// useStageEvents calls fn with each app:STAGE event of the channel's room.
export function useStageEvents(channel: string, fn: (e: StageEvent) => void) {
  useEffect(() => {
    if (!channel) return;
    return onRoomEvent(channel, (e) => {
      if (e.name !== stageEvent) return;
      try {
        fn(JSON.parse(e.attributes.stage) as StageEvent);
      } catch {
        // a malformed event changes nothing
      }
    });
  }, [channel, fn]);
}

// useChannelStage is the channel's open stage (null when none).
export function useChannelStage(channel: string, enabled = true) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!enabled || !channel) return;
    return onRoomEvent(channel, (e) => {
      if (e.name === stageEvent) void qc.invalidateQueries({ queryKey: ['stage'] });
    });
  }, [channel, enabled, qc]);
  return useQuery({
    queryKey: channelStageKey(channel),
    queryFn: async () => (await api<{ stage: Stage | null }>('GET', `/api/channels/${enc(channel)}/stage`)).stage,
    enabled: enabled && !!channel,
    refetchInterval: 2_000,
  });
}

// useMyStage is the signed-in host's own stage, with its invite and pending requests.
export function useMyStage(channel: string) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!channel) return;
    return onRoomEvent(channel, (e) => {
      if (e.name === stageEvent) void qc.invalidateQueries({ queryKey: ['stage'] });
    });
  }, [channel, qc]);
  return useQuery({
    queryKey: myStageKey,
    queryFn: async () => (await api<{ stage: HostStage | null }>('GET', '/api/me/stage')).stage,
    refetchInterval: 2_000,
  });
}

function useStageMutation<In>(fn: (input: In) => Promise<unknown>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSettled: () => qc.invalidateQueries({ queryKey: ['stage'] }) });
}

export const useStartStage = () => useStageMutation(() => api('POST', '/api/me/stage'));
export const useEndStage = () => useStageMutation(() => api('DELETE', '/api/me/stage'));
export const useAnswerRequest = () =>
  useStageMutation(({ username, accept }: { username: string; accept: boolean }) => api(accept ? 'PUT' : 'DELETE', `/api/me/stage/requests/${enc(username)}`));
export const useKick = () => useStageMutation((participantId: string) => api('DELETE', `/api/me/stage/participants/${enc(participantId)}`));
export const useRequestToJoin = (channel: string) =>
  useStageMutation((ask: boolean) => api(ask ? 'POST' : 'DELETE', `/api/channels/${enc(channel)}/stage/requests`));

export function joinStage(channel: string, invite?: string): Promise<StageGrant> {
  return api<StageGrant>('POST', `/api/channels/${enc(channel)}/stage/participants`, invite ? { invite } : {});
}

// The media routes: a participant publishes at …/media and anyone allowed subscribes to one
// participant at …/subscriptions (the participant token, or a spectator's playback token).
export const publishUrl = (g: StageGrant) => `/api/stages/${enc(g.stageId)}/participants/${enc(g.participantId)}/media`;
export const subscribeUrl = (stageId: string, participantId: string) => `/api/stages/${enc(stageId)}/participants/${enc(participantId)}/subscriptions`;

// shareScreen asks for a second participant, the participant's screen share, which then
// publishes at its own publishUrl (the bearer is the sharing participant's token).
export function shareScreen(g: StageGrant): Promise<StageGrant> {
  return readResponse<StageGrant>(
    fetch(`/api/stages/${enc(g.stageId)}/participants/${enc(g.participantId)}/screen`, {
      method: 'POST',
      headers: { Accept: 'application/json', Authorization: `Bearer ${g.token}` },
    }),
  );
}
