// The signed-in account, shared by every feature: GET /api/me, null when signed out.
import { useQuery } from '@tanstack/react-query';
import { api } from './api-client';

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
    // RTMP over TLS and SRT; absent when the server has them off. The stream key follows
    // each (for SRT, after streamid=publish:).
    rtmpsUrl?: string;
    srtUrl?: string;
    whipUrl: string;
    playbackUrl: string;
    // What the streamer says about the stream (PATCH /api/me sets them).
    title: string;
    category: string; // a category slug, '' for none
    categoryName: string;
    tags: string[];
  };
};

export const meKey = ['me'] as const;

// fetchMe asks GET /api/session, which answers {user: null} for a visitor instead of a 401,
// so signed-out pages make no failing request.
export async function fetchMe(): Promise<Me | null> {
  const res = await api<{ user: Me | null }>('GET', '/api/session');
  return res?.user ?? null;
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 30_000 });
}
