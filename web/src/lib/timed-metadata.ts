// Timed metadata from live streams: the player hands over each cue when the playhead reaches
// it; features read the stream action in force for a channel. The server announces an active
// action again at every segment start (with how far into it that point is), so a cue may
// arrive more than once: the same action is kept, not restarted.
import { useEffect, useSyncExternalStore } from 'react';

// Envelope is what every cue carries (see internal/media/hls/metadata.go).
export type Envelope = {
  id: string;
  at: string;
  elapsedMs: number;
  event: { name: string; data: Record<string, unknown> } | null;
};

export type CurrentAction = {
  id: string;
  name: string;
  data: Record<string, unknown>;
  startedAt: number; // local clock, ms: when the action began at this viewer's playhead
};

type Listener = () => void;
const current = new Map<string, CurrentAction | null>();
const listeners = new Map<string, Set<Listener>>();

function notify(channel: string) {
  listeners.get(channel)?.forEach((l) => l());
}

// receiveCue applies one cue to a channel's current action.
export function receiveCue(channel: string, env: Envelope, now = Date.now()) {
  const key = channel.toLowerCase();
  const was = current.get(key);
  if (env.event === null) {
    if (was && was.id === env.id) {
      current.set(key, null);
      notify(key);
    }
    return;
  }
  if (was && was.id === env.id) return; // announced again: already shown
  current.set(key, { id: env.id, name: env.event.name, data: env.event.data, startedAt: now - Math.max(0, env.elapsedMs) });
  notify(key);
}

// clearAction forgets a channel's action (the stream went offline, or it ran its course).
export function clearAction(channel: string, id?: string) {
  const key = channel.toLowerCase();
  const was = current.get(key);
  if (!was || (id && was.id !== id)) return;
  current.set(key, null);
  notify(key);
}

// parseCue reads an envelope from a metadata text-track cue made by hls.js from an emsg ID3
// box (a TXXX frame whose description is "livehouse"), or returns null.
export function parseCue(cue: TextTrackCue): Envelope | null {
  const value = (cue as TextTrackCue & { value?: { key?: string; info?: string; data?: unknown } }).value;
  if (!value || value.key !== 'TXXX' || value.info !== 'livehouse' || typeof value.data !== 'string') return null;
  try {
    const env = JSON.parse(value.data) as Envelope;
    return typeof env.id === 'string' ? env : null;
  } catch {
    return null;
  }
}

// useCurrentAction is the action in force on a channel, for this viewer's playhead.
export function useCurrentAction(channel: string, live: boolean): CurrentAction | null {
  const key = channel.toLowerCase();
  const action = useSyncExternalStore(
    (l) => {
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(l);
      return () => set.delete(l);
    },
    () => current.get(key) ?? null,
  );
  useEffect(() => {
    if (!live) clearAction(key);
  }, [key, live]);
  return live ? action : null;
}

// How long each timed action stays on screen after it began, in ms; null: until replaced.
export function visibleFor(a: CurrentAction): number | null {
  const duration = Number(a.data.duration ?? 0) * 1000;
  switch (a.name) {
    case 'quiz':
      return duration + 2000; // the reference hides a quiz 2 s after its end
    case 'notice':
    case 'celebration':
      return duration;
    default:
      return null;
  }
}

// followMetadata hands every metadata cue of a video's text tracks (hls.js turns emsg ID3
// boxes into them) to receiveCue for channel as the playhead reaches it, until the returned
// function is called. The recordings' player uses it; after a seek the fragment's repeated
// announcement brings back the action in force there.
export function followMetadata(tracks: TextTrackList, channel: string): () => void {
  const handlers = new Map<TextTrack, () => void>();
  const watch = (track: TextTrack | null) => {
    if (!track || track.kind !== 'metadata' || handlers.has(track)) return;
    track.mode = 'hidden';
    const onCues = () => {
      const active = [...(track.activeCues ?? [])].sort((a, b) => a.startTime - b.startTime);
      for (const cue of active) {
        const env = parseCue(cue);
        if (env) receiveCue(channel, env);
      }
    };
    handlers.set(track, onCues);
    track.addEventListener('cuechange', onCues);
  };
  for (const t of tracks) watch(t);
  const onAdd = (e: TrackEvent) => watch(e.track as TextTrack | null);
  tracks.addEventListener('addtrack', onAdd);
  return () => {
    tracks.removeEventListener('addtrack', onAdd);
    handlers.forEach((h, t) => t.removeEventListener('cuechange', h));
  };
}
