import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

// Video is a past broadcast (a recorded stream session), as GET /api/videos/{id} has it.
export type Video = {
  id: string;
  channelId: string;
  title: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  hidden: boolean;
  playbackUrl: string;
  posterUrl?: string;
};

export const videosKey = (username: string) => ['videos', username.toLowerCase()] as const;
const videoKey = (id: string) => ['video', id] as const;

export function useChannelVideos(username: string) {
  return useQuery({
    queryKey: videosKey(username),
    queryFn: () => api<{ videos: Video[] }>('GET', `/api/channels/${encodeURIComponent(username)}/videos`),
    refetchInterval: 30_000,
    retry: false,
  });
}

export function useVideo(id: string) {
  return useQuery({ queryKey: videoKey(id), queryFn: () => api<Video>('GET', `/api/videos/${encodeURIComponent(id)}`), retry: false });
}

export function useUpdateVideo(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (change: { title?: string; hidden?: boolean }) => api<Video>('PATCH', `/api/videos/${encodeURIComponent(id)}`, change),
    onSuccess: (v) => {
      qc.setQueryData(videoKey(id), v);
      qc.invalidateQueries({ queryKey: ['videos'] });
    },
  });
}

export function useDeleteVideo(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api('DELETE', `/api/videos/${encodeURIComponent(id)}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['videos'] }),
  });
}

// duration formats seconds as h:mm:ss or m:ss.
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// ChatLine is a line of a recording's chat replay, at its offset into the recording.
export type ChatLine = {
  id: string;
  offsetMs: number;
  sender: { userId: string; attributes?: Record<string, string> };
  content: string;
};

// maxChatPages bounds the pages of chat read for one recording (500 lines each; the server
// keeps at most 20,000 lines a recording).
const maxChatPages = 40;

// fetchVideoChat reads a recording's whole chat replay, page by page, in offset order.
export async function fetchVideoChat(id: string): Promise<ChatLine[]> {
  const seen = new Set<string>();
  const out: ChatLine[] = [];
  let from = 0;
  for (let page = 0; page < maxChatPages; page++) {
    const res = await api<{ messages: ChatLine[]; next?: number }>('GET', `/api/videos/${encodeURIComponent(id)}/chat?from=${from}`);
    for (const m of res.messages) {
      if (!seen.has(m.id)) {
        seen.add(m.id);
        out.push(m);
      }
    }
    if (res.next === undefined) break;
    from = res.next > from ? res.next : from + 1; // a page all at one offset: step past it
  }
  return out;
}

export function useVideoChat(id: string) {
  return useQuery({ queryKey: ['video-chat', id], queryFn: () => fetchVideoChat(id), retry: false, staleTime: Infinity });
}

// linesUpTo returns the lines said by the playhead (seconds), in order: a binary search, as
// it runs on every time update.
export function linesUpTo(lines: ChatLine[], seconds: number): ChatLine[] {
  const ms = seconds * 1000;
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].offsetMs <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lines.slice(0, lo);
}
