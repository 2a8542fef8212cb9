import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

// A user on a private channel's allowlist (the channel card of their own channel).
export type AllowedUser = { username: string; color: string; avatar: string; avatarUrl?: string };

// Invite is an invite link; code and url come only in the answer that made it.
export type Invite = { id: string; createdAt: string; expiresAt: string; uses: number; code?: string; url?: string };

const base = (me: string) => `/api/channels/${encodeURIComponent(me)}`;
const privacyKey = (me: string) => ['privacy', me.toLowerCase()] as const;
const allowlistKey = (me: string) => ['allowlist', me.toLowerCase()] as const;
const invitesKey = (me: string) => ['invites', me.toLowerCase()] as const;

export function usePrivacy(me: string) {
  return useQuery({ queryKey: privacyKey(me), queryFn: () => api<{ private: boolean }>('GET', `${base(me)}/privacy`) });
}

export function useSetPrivacy(me: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (on: boolean) => api<{ private: boolean }>('PUT', `${base(me)}/privacy`, { private: on }),
    onSuccess: (v) => {
      qc.setQueryData(privacyKey(me), v);
      qc.invalidateQueries({ queryKey: ['channel', me.toLowerCase()] });
    },
  });
}

export function useAllowlist(me: string) {
  return useQuery({ queryKey: allowlistKey(me), queryFn: () => api<{ users: AllowedUser[] }>('GET', `${base(me)}/allowlist`) });
}

export function useAllow(me: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ user, allow }: { user: string; allow: boolean }) => api(allow ? 'PUT' : 'DELETE', `${base(me)}/allowlist/${encodeURIComponent(user)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: allowlistKey(me) }),
  });
}

export function useInvites(me: string) {
  return useQuery({ queryKey: invitesKey(me), queryFn: () => api<{ invites: Invite[] }>('GET', `${base(me)}/invites`) });
}

export function useCreateInvite(me: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (expiresInHours: number) => api<Invite>('POST', `${base(me)}/invites`, { expiresInHours }),
    onSuccess: () => qc.invalidateQueries({ queryKey: invitesKey(me) }),
  });
}

export function useRevokeInvite(me: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api('DELETE', `${base(me)}/invites/${encodeURIComponent(id)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: invitesKey(me) }),
  });
}

export function useAcceptInvite() {
  return useMutation({ mutationFn: (code: string) => api<{ username: string }>('POST', '/api/invites/accept', { code }) });
}
