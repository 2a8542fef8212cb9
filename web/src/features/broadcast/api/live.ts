// Whether the streamer's channel is live, polled while the broadcast card is open, so a stream
// from elsewhere (OBS) is noticed: GET /api/channels/{username}.
import { useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

export const liveKey = (username: string | undefined) => ['broadcast', 'live', username] as const;

export function useChannelLive(username: string | undefined) {
  return useQuery({
    queryKey: liveKey(username),
    queryFn: async () => (await api<{ isLive: boolean }>('GET', `/api/channels/${encodeURIComponent(username ?? '')}`)).isLive,
    enabled: !!username,
    refetchInterval: 4000,
  });
}
