import Hls, { type Level } from 'hls.js';
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { parseCue, receiveCue } from '../../../lib/timed-metadata';
import { autoplay, startPlayback, takeEarly, type PlaybackState } from '../lib/hls-playback';
import { startBeacons, tokenOf, withToken } from '../lib/playback';

// src is the playback URL; token the playback token the channel page minted for this viewer,
// sent on every media request and renewed by the viewing beacon (which needs channel).
// onFirstFrame is called once the video shows its first frame (or fails).
// poster is shown until the first frame (the channel's live thumbnail).
type Props = { src: string; token?: string; title: string; channel?: string; poster?: string; onFirstFrame?: () => void; children?: ReactNode };

// catchUpAfter is how far behind its target latency, in seconds, the player may fall before it
// jumps to the live edge.
const catchUpAfter = 0.75;

// Player plays a live LL-HLS stream with hls.js (or the browser's own HLS where hls.js cannot
// run, as on iOS): muted autoplay when sound is blocked, play/pause, volume, quality and
// fullscreen. Timed metadata in the stream (stream actions) is handed to lib/timed-metadata as
// the playhead reaches it; children are overlays drawn over the video.
export function Player({ src, token, title, channel, poster, onFirstFrame, children }: Props) {
  const video = useRef<HTMLVideoElement | null>(null);
  const firstFrame = useRef(onFirstFrame);
  useLayoutEffect(() => {
    firstFrame.current = onFirstFrame;
  }, [onFirstFrame]);
  // The token of this playback session: the page's at the start, then each renewal's. Later
  // tokens the page hands out (it refetches) belong to other sessions and are not taken.
  const tokenRef = useRef(token ?? tokenOf(src));
  const firstToken = useRef(token ?? tokenOf(src));
  const box = useRef<HTMLDivElement>(null);
  const slot = useRef<HTMLDivElement>(null);
  const hls = useRef<Hls | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [level, setLevel] = useState(-1);
  const [playing, setPlaying] = useState(false);
  const [muted, setMuted] = useState(false);
  const [volume, setVolume] = useState(1);
  const [error, setError] = useState<string>();

  // The viewing beacon: counts this session and renews its token.
  useEffect(() => {
    const initial = firstToken.current;
    tokenRef.current = initial;
    if (!channel || !initial) return;
    return startBeacons(channel, initial, (t) => {
      tokenRef.current = t;
    });
  }, [channel, src]);

  // The video element is made here rather than by React: on a channel page hls.js has usually
  // been playing into it since before the app rendered (lib/hls-playback.ts), and it joins the
  // page as it is, with what it has decoded.
  useLayoutEffect(() => {
    const s = slot.current;
    if (!s) return;
    const early = takeEarly(src);
    const v = early?.video ?? document.createElement('video');
    video.current = v;
    v.className = 'player-video';
    v.playsInline = true;
    v.dataset.testid = 'video';
    const onPlay = () => setPlaying(true);
    const onPause = () => setPlaying(false);
    const onVolume = () => setMuted(v.muted);
    const onClick = () => (v.paused ? v.play().catch(() => undefined) : v.pause());
    v.addEventListener('play', onPlay);
    v.addEventListener('pause', onPause);
    v.addEventListener('volumechange', onVolume);
    v.addEventListener('click', onClick);
    s.append(v);
    setPlaying(!v.paused);
    setMuted(v.muted);
    let shown = false;
    const onShown = () => {
      if (shown) return;
      shown = true;
      firstFrame.current?.();
    };
    // The first frame presented; where the browser cannot tell, playback starting.
    let frameRequest: number | undefined;
    if (typeof v.requestVideoFrameCallback === 'function') frameRequest = v.requestVideoFrameCallback(onShown);
    else v.addEventListener('playing', onShown, { once: true });
    const unlisten = () => {
      if (frameRequest !== undefined) v.cancelVideoFrameCallback(frameRequest);
      v.removeEventListener('playing', onShown);
      v.removeEventListener('play', onPlay);
      v.removeEventListener('pause', onPause);
      v.removeEventListener('volumechange', onVolume);
      v.removeEventListener('click', onClick);
      v.remove();
      video.current = null;
    };

    if (early || Hls.isSupported()) {
      const p = early ?? startPlayback(v, src, tokenRef.current);
      p.token = tokenRef; // the beacon's renewals go on every request from now on
      const h = p.hls;
      hls.current = h;
      const show = (state: PlaybackState) => {
        setLevels(state.levels);
        setError(state.error);
        if (state.error) onShown();
      };
      show(p.state);
      p.onChange = show;
      // hls.js speeds up only near its target latency and with more than a second buffered
      // ahead, which a low-latency player never has: the playback plays a little faster
      // itself while behind (lib/catch-up.ts), and a viewer further behind than catchUpAfter
      // jumps to the live sync position, once playing and only inside what is buffered: a
      // jump before the first frame, or past the buffer, throws away what is loading and
      // starts over from the next keyframe.
      const catchUp = window.setInterval(() => {
        const edge = h.liveSyncPosition;
        if (
          edge != null &&
          !v.paused &&
          v.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA &&
          h.latency > (h.targetLatency ?? 0) + catchUpAfter &&
          edge > v.currentTime &&
          isBuffered(v.buffered, edge)
        ) {
          v.currentTime = edge;
        }
      }, 1000);
      return () => {
        window.clearInterval(catchUp);
        p.onChange = undefined;
        p.destroy();
        hls.current = null;
        unlisten();
      };
    }
    if (v.canPlayType('application/vnd.apple.mpegurl')) {
      // Native HLS (iOS) sends no token on the media playlists it follows; the token stays on
      // the multivariant playlist's URL only.
      v.src = withToken(src, tokenRef.current);
      const start = () => autoplay(v);
      v.addEventListener('loadedmetadata', start, { once: true });
      return () => {
        v.removeEventListener('loadedmetadata', start);
        v.removeAttribute('src');
        v.load();
        unlisten();
      };
    }
    setError('This browser cannot play live video.');
    onShown();
    return unlisten;
  }, [src]);

  useLayoutEffect(() => {
    video.current?.setAttribute('aria-label', `${title} live video`);
  }, [title, src]);

  // The live thumbnail stands in until the first frame (the browser drops it then).
  useLayoutEffect(() => {
    const v = video.current;
    if (v && poster) v.poster = poster;
  }, [poster, src]);

  // hls.js turns the stream's emsg ID3 boxes into cues on a metadata text track; their
  // cuechange fires when the playhead reaches them.
  useEffect(() => {
    const v = video.current;
    if (!v || !channel) return;
    return followMetadata(v.textTracks, channel);
  }, [channel, src]);

  const toggle = () => {
    const v = video.current;
    if (!v) return;
    if (v.paused) v.play().catch(() => undefined);
    else v.pause();
  };
  const changeVolume = (value: number) => {
    const v = video.current;
    if (!v) return;
    v.volume = value;
    v.muted = value === 0;
    setVolume(value);
    setMuted(v.muted);
  };
  const toggleMute = () => {
    const v = video.current;
    if (!v) return;
    v.muted = !v.muted;
    setMuted(v.muted);
  };
  const chooseLevel = (index: number) => {
    if (hls.current) hls.current.currentLevel = index;
    setLevel(index);
  };
  const fullscreen = () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => undefined);
    else box.current?.requestFullscreen().catch(() => undefined);
  };

  return (
    <div className="player-box" ref={box}>
      <div className="player-video-slot" ref={slot} />
      {children}
      {error && <p className="player-error" role="alert">{error}</p>}
      <div className="player-controls">
        <button type="button" onClick={toggle} aria-label={playing ? 'Pause' : 'Play'}>
          <Icon d={playing ? 'M6 5h4v14H6zM14 5h4v14h-4z' : 'M7 4l13 8-13 8z'} />
        </button>
        <button type="button" onClick={toggleMute} aria-label={muted ? 'Unmute' : 'Mute'}>
          <Icon d={muted ? 'M4 9h4l5-4v14l-5-4H4zM16 9l5 6M21 9l-5 6' : 'M4 9h4l5-4v14l-5-4H4zM16 8a5 5 0 0 1 0 8M18.5 5.5a9 9 0 0 1 0 13'} />
        </button>
        <input type="range" min={0} max={1} step={0.05} value={muted ? 0 : volume} onChange={(e) => changeVolume(Number(e.target.value))} aria-label="Volume" />
        <span className="player-spacer" />
        <label className="player-quality">
          <span className="sr-only">Quality</span>
          <select value={level} onChange={(e) => chooseLevel(Number(e.target.value))} aria-label="Quality">
            <option value={-1}>Auto</option>
            {levels.map((l, i) => (
              <option key={i} value={i}>
                {l.height ? `${l.height}p` : `${Math.round(l.bitrate / 1000)} kbps`}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={fullscreen} aria-label="Fullscreen">
          <Icon d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" />
        </button>
      </div>
    </div>
  );
}

// isBuffered reports whether t lies inside one of the buffered ranges.
function isBuffered(ranges: TimeRanges, t: number): boolean {
  for (let i = 0; i < ranges.length; i++) {
    if (ranges.start(i) <= t && t < ranges.end(i)) return true;
  }
  return false;
}

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" strokeLinecap="round">
      <path d={d} fill={d.startsWith('M6 5') || d.startsWith('M7 4') ? 'currentColor' : 'none'} />
    </svg>
  );
}

// followMetadata hands every metadata cue of the tracks to lib/timed-metadata as it becomes
// active, until the returned function is called.
function followMetadata(tracks: TextTrackList, channel: string) {
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
    // A video started before the page showed it may have an action on already.
    if (track.activeCues?.length) onCues();
  };
  for (const t of tracks) watch(t);
  const onAdd = (e: TrackEvent) => watch(e.track as TextTrack | null);
  tracks.addEventListener('addtrack', onAdd);
  return () => {
    tracks.removeEventListener('addtrack', onAdd);
    handlers.forEach((h, t) => t.removeEventListener('cuechange', h));
  };
}
