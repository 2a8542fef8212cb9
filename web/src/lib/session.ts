// The signed-in account, shared by every feature: GET /api/me, null when signed out.
import { useQuery } from '@tanstack/react-query';
import { api, isApiError } from './api-client';

export type Me = {
  id: string;
  username: string;
  email: string;
  emailVerified: boolean;
  pendingEmail?: string;
  color: string;
  avatar: string;
  avatarUrl?: string;
  bannerUrl?: string;
  createdAt: string;
  channel: {
    id: string;
    type: string;
    // Absent until the account's email is verified: the server refuses an unverified
    // account's key, so it does not hand it out.
    streamKey?: string;
    chatRoomId: string;
    rtmpUrl: string;
    whipUrl: string;
    playbackUrl: string;
  };
};

export const meKey = ['me'] as const;

export async function fetchMe(): Promise<Me | null> {
  try {
    return await api<Me>('GET', '/api/me');
  } catch (e) {
    if (isApiError(e) && e.status === 401) return null;
    throw e;
  }
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 30_000 });
}
