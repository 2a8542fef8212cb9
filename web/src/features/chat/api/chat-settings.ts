import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

// ChatSettings are a channel's chat controls (internal/chat: Settings).
export type ChatSettings = { followersOnly: boolean; followersMinutes: number; slowSeconds: number };

// The server's limits, and the slow-mode choices offered (Twitch's).
export const slowChoices = [0, 3, 5, 10, 30, 60, 120];
export const followerChoices = [0, 10, 30, 60, 1440, 10080];

const enc = encodeURIComponent;
const settingsKey = (channel: string) => ['chat-settings', channel.toLowerCase()];

export function useChatSettings(channel: string) {
  return useQuery({ queryKey: settingsKey(channel), queryFn: () => api<ChatSettings>('GET', `/api/channels/${enc(channel)}/chat-settings`), enabled: !!channel });
}

export function useSaveChatSettings(channel: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (s: ChatSettings) => api<ChatSettings>('PUT', `/api/channels/${enc(channel)}/chat-settings`, s),
    onSuccess: (s) => qc.setQueryData(settingsKey(channel), s),
  });
}
