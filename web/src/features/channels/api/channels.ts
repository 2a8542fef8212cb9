import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, readResponse } from '../../../lib/api-client';
import { meKey, type Me } from '../../../lib/session';
import { takeChannel } from '../lib/prefetched';

export type ChannelCard = {
  channelId: string;
  username: string;
  color: string;
  avatar: string;
  avatarUrl?: string;
  bannerUrl?: string;
  isLive: boolean;
  liveSince?: string;
  viewerCount?: number;
  followedAt?: string;
  isPrivate?: boolean;
  // thumbnailUrl: a live channel's thumbnail, refreshed every 30 s under the same URL.
  thumbnailUrl?: string;
  // hasStage: the owner hosts an open stage (multi-host, real-time).
  hasStage?: boolean;
  title?: string;
  category?: string;
  categoryName?: string;
  tags?: string[];
};

export type Category = { slug: string; name: string };

// DirectoryFilter is the directory's URL state: /?category=…&q=…&sort=….
export type DirectoryFilter = { category: string; q: string; sort: 'recent' | 'viewers' };

export type ChannelPage = ChannelCard & {
  playbackUrl?: string;
  playbackToken?: string;
  playbackTokenExpiresAt?: string;
  viewerCount: number;
  isFollowed: boolean;
  isBanned: boolean;
  isOwner: boolean;
  // mayWatch is false for a banned viewer, and on a private channel for everyone but its owner
  // and its allowed viewers (who then get nothing of its stream).
  mayWatch?: boolean;
};

export const channelKey = (username: string) => ['channel', username.toLowerCase()] as const;

export function useChannel(username: string) {
  return useQuery({
    queryKey: channelKey(username),
    // The first load takes what the boot script fetched already, if it did.
    queryFn: () => {
      const prefetched = takeChannel(username);
      return prefetched ? readResponse<ChannelPage>(prefetched) : api<ChannelPage>('GET', `/api/channels/${encodeURIComponent(username)}`);
    },
    refetchInterval: 5000,
    retry: false,
  });
}

// directoryPath is the API's URL for a page of the directory: the first without after, the
// next ones with the previous page's next.
export function directoryPath(f: DirectoryFilter, after = ''): string {
  const p = new URLSearchParams({ live: 'true' });
  if (f.category) p.set('category', f.category);
  if (f.q.trim()) p.set('q', f.q.trim());
  if (f.sort !== 'recent') p.set('sort', f.sort);
  if (after) p.set('after', after);
  return `/api/channels?${p}`;
}

// DirectoryResponse is one answer of GET /api/channels?live=true: next is there when a page follows.
export type DirectoryResponse = { channels: ChannelCard[]; maxResults: number; next?: string };

// directoryChannels joins the loaded pages in order, each channel once: a channel that went
// live again, or an offline stage host, can be on two pages fetched at different times, and
// the first place it was shown is where it stays.
export function directoryChannels(pages: readonly DirectoryResponse[]): ChannelCard[] {
  const seen = new Set<string>();
  const out: ChannelCard[] = [];
  for (const page of pages) {
    for (const c of page.channels) {
      if (!seen.has(c.channelId)) {
        seen.add(c.channelId);
        out.push(c);
      }
    }
  }
  return out;
}

// useDirectory reads the directory a page at a time (fetchNextPage follows next; hasNextPage
// is false once a page comes without one). A refresh fetches again every page loaded so far.
export function useDirectory(f: DirectoryFilter = { category: '', q: '', sort: 'recent' }) {
  return useInfiniteQuery({
    queryKey: ['directory', f.category, f.q.trim(), f.sort],
    queryFn: ({ pageParam }) => api<DirectoryResponse>('GET', directoryPath(f, pageParam)),
    initialPageParam: '',
    getNextPageParam: (last) => last.next || undefined,
    refetchInterval: 10_000,
    placeholderData: (prev) => prev,
  });
}

export function useCategories() {
  return useQuery({
    queryKey: ['categories'],
    queryFn: () => api<{ categories: Category[] }>('GET', '/api/categories'),
    staleTime: 5 * 60_000,
  });
}

// useStreamInfo saves the stream's title, category and tags.
export function useStreamInfo() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (b: { title: string; category: string; tags: string[] }) => api<Me>('PATCH', '/api/me', b),
    onSuccess: (me) => {
      qc.setQueryData(meKey, me);
      qc.invalidateQueries({ queryKey: ['directory'] });
      qc.invalidateQueries({ queryKey: channelKey(me.username) });
    },
  });
}

export function useFollowing(enabled: boolean) {
  return useQuery({
    queryKey: ['following'],
    queryFn: () => api<{ channels: ChannelCard[] }>('GET', '/api/me/following'),
    enabled,
    refetchInterval: 10_000,
  });
}

export function useFollow(username: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (follow: boolean) => api(follow ? 'PUT' : 'DELETE', `/api/me/following/${encodeURIComponent(username)}`),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: channelKey(username) });
      qc.invalidateQueries({ queryKey: ['following'] });
    },
  });
}

export function useResetStreamKey() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<{ streamKey: string }>('POST', '/api/me/stream-key/reset'),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
}

export function useAppearance() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (b: { color?: string; avatar?: string }) => api<Me>('PATCH', '/api/me', b),
    onSuccess: (me) => qc.setQueryData(meKey, me),
  });
}

export function useUpload() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ kind, file }: { kind: 'avatar' | 'banner'; file: File }) => api<{ url: string }>('PUT', `/api/me/assets/${kind}`, file),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
}

export function useDeleteAsset() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (kind: 'avatar' | 'banner') => api('DELETE', `/api/me/assets/${kind}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: meKey }),
  });
}

// useMyBans lists the users banned from the signed-in user's own channel.
export function useMyBans(me: string | undefined) {
  return useQuery({
    queryKey: ['bans', me],
    queryFn: () => api<{ users: ChannelCard[] }>('GET', `/api/channels/${encodeURIComponent(me!)}/bans`),
    enabled: !!me,
  });
}

export function useBan(me: string | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ user, ban }: { user: string; ban: boolean }) =>
      api(ban ? 'PUT' : 'DELETE', `/api/channels/${encodeURIComponent(me!)}/bans/${encodeURIComponent(user)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['bans', me] }),
  });
}
