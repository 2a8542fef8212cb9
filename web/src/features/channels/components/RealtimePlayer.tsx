import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { negotiate, type Negotiated } from '../../../lib/negotiate';

// Real-time playback: the channel over WebRTC with WHEP (POST /api/whep/{channelId}, the
// playback token as bearer), under a second behind the encoder where LL-HLS is one to two.
// The server counts the WebRTC session as a viewer and refuses a banned one itself. When the
// connection cannot be made (a network that blocks UDP, a node that does not serve it) the
// page falls back to the LL-HLS player.

type Props = { channelId: string; token?: string; title: string; onFail: (reason: string) => void; children?: ReactNode };

// firstFrameWithin is how long the player waits for the first picture before giving up on
// WebRTC.
const firstFrameWithin = 10_000;

// channelIdOf reads the channel id from a playback URL (/hls/{channelId}/index.m3u8).
export function channelIdOf(playbackUrl: string): string | undefined {
  const m = /\/hls\/([^/?]+)\//.exec(new URL(playbackUrl, window.location.href).pathname + '/');
  return m?.[1];
}

const storageKey = 'livehouse.realtime';

// useRealtimeChoice is whether the viewer asked for real-time playback (kept across visits),
// and whether it failed on this page, so the page falls back to LL-HLS.
export function useRealtimeChoice() {
  const [wanted, setWanted] = useState(() => {
    try {
      return window.localStorage.getItem(storageKey) === '1';
    } catch {
      return false;
    }
  });
  const [failed, setFailed] = useState<string>();
  const toggle = useCallback(() => {
    setWanted((w) => {
      try {
        window.localStorage.setItem(storageKey, w ? '0' : '1');
      } catch {
        // private mode: the choice lasts for this page only
      }
      return !w;
    });
    setFailed(undefined);
  }, []);
  return { realtime: wanted && !failed, wanted, failed, toggle, fail: setFailed };
}

// RealtimeToggle is the "Real-time" switch shown next to the player.
export function RealtimeToggle({ on, onToggle }: { on: boolean; onToggle: () => void }) {
  return (
    <button type="button" className={`realtime-toggle${on ? ' on' : ''}`} aria-pressed={on} onClick={onToggle} title="Lowest latency: play over WebRTC">
      Real-time
    </button>
  );
}

// RealtimePlayer plays the channel over WHEP.
export function RealtimePlayer({ channelId, token, title, onFail, children }: Props) {
  const video = useRef<HTMLVideoElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const failRef = useRef(onFail);
  useEffect(() => {
    failRef.current = onFail;
  }, [onFail]);
  const [muted, setMuted] = useState(false);

  useEffect(() => {
    const v = video.current;
    if (!v) return;
    let closed = false;
    let session: Negotiated | undefined;
    const pc = new RTCPeerConnection();
    const fail = (reason: string) => {
      if (closed) return;
      closed = true;
      pc.close();
      failRef.current(reason);
    };
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      if (v.srcObject !== stream) v.srcObject = stream;
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') fail('The WebRTC connection failed.');
    };
    const start = () => {
      v.muted = false;
      v.play().catch(() => {
        // Autoplay with sound is blocked until the viewer interacts: start muted instead.
        v.muted = true;
        setMuted(true);
        v.play().catch(() => undefined);
      });
    };
    v.addEventListener('loadedmetadata', start, { once: true });
    const timer = window.setTimeout(() => {
      if (v.videoWidth === 0) fail('No picture came over WebRTC.');
    }, firstFrameWithin);

    (async () => {
      const s = await negotiate(`/api/whep/${encodeURIComponent(channelId)}`, pc, token);
      if (closed) void s.end();
      else session = s;
    })().catch((err: unknown) => fail(err instanceof Error ? err.message : 'WebRTC playback failed.'));

    const leave = () => {
      void session?.end();
      session = undefined;
    };
    window.addEventListener('pagehide', leave);
    return () => {
      closed = true;
      window.clearTimeout(timer);
      window.removeEventListener('pagehide', leave);
      leave();
      pc.close();
      v.srcObject = null;
    };
  }, [channelId, token]);

  const toggleMute = () => {
    const v = video.current;
    if (!v) return;
    v.muted = !v.muted;
    setMuted(v.muted);
  };
  const fullscreen = () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => undefined);
    else box.current?.requestFullscreen().catch(() => undefined);
  };

  return (
    <div className="player-box" ref={box} data-testid="realtime-player">
      <video ref={video} className="player-video" playsInline aria-label={`${title} live video (real-time)`} data-testid="video" />
      {children}
      <div className="player-controls">
        <button type="button" onClick={toggleMute} aria-label={muted ? 'Unmute' : 'Mute'}>
          {muted ? 'Unmute' : 'Mute'}
        </button>
        <span className="player-spacer" />
        <button type="button" onClick={fullscreen} aria-label="Fullscreen">
          Fullscreen
        </button>
      </div>
    </div>
  );
}
