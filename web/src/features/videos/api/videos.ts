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
