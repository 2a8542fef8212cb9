// Stream health: GET /api/me/sessions (the navigator) and GET /api/me/sessions/{id} (one
// session's events, declared configuration, warnings and metrics).
import { keepPreviousData, useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api } from '../../../lib/api-client';

export type SessionSummary = {
  id: string;
  startTime: string;
  endTime: string | null;
  isLive: boolean;
  hasErrorEvent: boolean;
  isHealthy: boolean;
};

export type StreamEvent = {
  name: string;
  type: string;
  eventTime: string;
  label: string;
  severity?: 'success' | 'warning' | 'error';
  message?: string;
  reason?: string;
  limitName?: string;
  limitValue?: number;
  exceededBy?: number;
  limitUnit?: string;
};

export type IngestConfiguration = {
  video: {
    codec: string;
    encoder: string;
    profile: string;
    level: string;
    targetBitrate: number;
    targetFramerate: number;
    videoWidth: number;
    videoHeight: number;
  };
  audio: { codec: string; targetBitrate: number; sampleRate: number; channels: number };
};

export type Series = {
  period: number;
  alignedStartTime: string;
  videoBitrate: (number | null)[];
  audioBitrate: (number | null)[];
  framerate: (number | null)[];
  keyframeInterval: (number | null)[];
  concurrentViews: (number | null)[];
  averages: { videoBitrate: number; audioBitrate: number; framerate: number; keyframeInterval: number; concurrentViews: number };
};

export type Warning = { field: string; severity: 'warning' | 'error'; message: string };

export type Session = SessionSummary & {
  streamStartTime: string | null;
  channelType: string;
  ingestConfiguration: IngestConfiguration | null;
  events: StreamEvent[];
  warnings: Warning[];
  metrics: Series;
};

// The reference's cadence: the list every 15 s, a live session every 5 s, an ended one never.
export const SESSIONS_REFRESH = 15_000;
export const SESSION_REFRESH = 5_000;

export function useSessions() {
  return useInfiniteQuery({
    queryKey: ['sessions'],
    queryFn: ({ pageParam }) =>
      api<{ sessions: SessionSummary[]; nextToken?: string }>(
        'GET',
        `/api/me/sessions?limit=20${pageParam ? `&nextToken=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextToken || undefined,
    refetchInterval: SESSIONS_REFRESH,
  });
}

// zoomQuery asks for the latest `minutes` of a session (ending at endTime, or now while it is
// live) at a period fine enough to draw: 1 s for 5 minutes, 5 s up to an hour.
export function zoomQuery(minutes: number, endTime: string | null | undefined, now: number): string {
  const end = endTime ? new Date(endTime).getTime() : now;
  const start = new Date(end - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `?period=${minutes <= 5 ? 1 : 5}&startTime=${start}`;
}

// useSession reads a session: all of it, or with zoom the latest that many minutes.
export function useSession(id: string | undefined, zoom?: { minutes: number; endTime?: string | null }) {
  return useQuery({
    queryKey: ['session', id, zoom?.minutes ?? 'all'],
    queryFn: () =>
      api<Session>('GET', `/api/me/sessions/${encodeURIComponent(id!)}${zoom ? zoomQuery(zoom.minutes, zoom.endTime, Date.now()) : ''}`),
    enabled: !!id,
    retry: false,
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data && !q.state.data.endTime ? SESSION_REFRESH : false),
  });
}

// useLatestSession is the newest session, refreshed as often as a live one is: what the
// stream manager's status bar shows.
export function useLatestSession() {
  const list = useQuery({
    queryKey: ['sessions', 'latest'],
    queryFn: () => api<{ sessions: SessionSummary[] }>('GET', '/api/me/sessions?limit=1'),
    refetchInterval: SESSION_REFRESH,
  });
  const latest = list.data?.sessions[0];
  const session = useSession(latest?.id);
  return { summary: latest, session: session.data, isLoading: list.isLoading };
}
