import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

// Settings are the account's go-live notices per kind; the bell picks the channels.
export type Settings = { email: boolean; push: boolean };

const settingsKey = ['notification-settings'] as const;
const bellKey = (username: string) => ['bell', username.toLowerCase()] as const;

export function useNotificationSettings() {
  return useQuery({ queryKey: settingsKey, queryFn: () => api<Settings>('GET', '/api/me/notifications') });
}

export function useSetNotificationSettings() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (change: Partial<Settings>) => api<Settings>('PATCH', '/api/me/notifications', change),
    onSuccess: (s) => qc.setQueryData(settingsKey, s),
  });
}

export function useBell(username: string, enabled: boolean) {
  return useQuery({
    queryKey: bellKey(username),
    queryFn: () => api<{ enabled: boolean }>('GET', `/api/me/following/${encodeURIComponent(username)}/notifications`),
    enabled,
  });
}

export function useSetBell(username: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (on: boolean) => api<{ enabled: boolean }>('PUT', `/api/me/following/${encodeURIComponent(username)}/notifications`, { enabled: on }),
    onSuccess: (b) => qc.setQueryData(bellKey(username), b),
  });
}

export const pushKey = () => api<{ publicKey: string }>('GET', '/api/push/key');

// subscription is a PushSubscription as the API takes it (its toJSON()).
export type Subscription = { endpoint: string; expirationTime?: number | null; keys: { p256dh: string; auth: string } };

export const saveSubscription = (s: Subscription) => api('POST', '/api/me/push-subscriptions', s as unknown as Record<string, unknown>);
export const deleteSubscription = (endpoint: string) => api('DELETE', '/api/me/push-subscriptions', { endpoint });
