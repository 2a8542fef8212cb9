// A live channel's playback with hls.js: a video element, hls.js set up for our LL-HLS (what
// the boot script fetched ahead comes from memory, the start is at the newest independent part,
// every request carries the playback token) and autoplay (muted when sound is blocked).
//
// It is started in one of two places. On a channel page the boot script loads src/early.ts,
// which starts it as soon as the prefetched channel says it is live (startEarly): the video
// element is not in the page yet, but hls.js attaches its MediaSource, loads and appends the
// first parts while the app's JavaScript is still compiling and React renders the page, and
// the Player then puts that video in its box (takeEarly). Everywhere else (the health page's
// own player, a channel that went live later, a browser that started nothing early) the Player
// starts its own with startPlayback.
import Hls, { type Level } from 'hls.js';
import { followLiveEdge } from './catch-up';
import { withToken } from './playback';
import { dropPrefetch, prefetchLoader } from './prefetched';

export type PlaybackState = {
  levels: Level[]; // the variants, once the multivariant playlist is read
  error?: string; // a fatal error, for the viewer
};

export type Playback = {
  src: string; // the playback URL as given (without its token for a channel page)
  video: HTMLVideoElement;
  hls: Hls;
  // The token sent on every request. The Player replaces the holder with its own, which the
  // viewing beacon renews.
  token: { current: string | undefined };
  state: PlaybackState;
  onChange?: (state: PlaybackState) => void;
  destroy: () => void;
};

// autoplay plays the video with sound, or muted where autoplay with sound is blocked until the
// viewer interacts.
export function autoplay(video: HTMLVideoElement) {
  video.muted = false;
  video.play().catch(() => {
    video.muted = true;
    video.play().catch(() => undefined);
  });
}

// startPlayback starts hls.js on video for src, sending token on every request.
export function startPlayback(video: HTMLVideoElement, src: string, token: string | undefined): Playback {
  const h = new Hls({
    // Low-latency mode targets the playlist's PART-HOLD-BACK. hls.js's own catch-up needs
    // more than a second buffered, which a player that close to the edge never has: the
    // player catches up itself (catch-up.ts).
    lowLatencyMode: true,
    maxLiveSyncPlaybackRate: 1,
    liveSyncOnStallIncrease: 0.2,
    backBufferLength: 30,
    // What the boot script fetched ahead (playlists, init sections, the newest segment's
    // parts) comes from memory; the first media playlist says to start at the newest
    // independent part when it is near the edge.
    loader: prefetchLoader(Hls.DefaultConfig.loader),
    // Every playlist, part, segment and init request carries the current token.
    xhrSetup: (xhr, url) => xhr.open('GET', withToken(url, p.token.current)),
  });
  const p: Playback = {
    src,
    video,
    hls: h,
    token: { current: token },
    state: { levels: [] },
    destroy: () => {
      stopFollowing();
      h.destroy();
      dropPrefetch();
    },
  };
  const set = (change: Partial<PlaybackState>) => {
    p.state = { ...p.state, ...change };
    p.onChange?.(p.state);
  };
  // Exposed for measurements (make bench reads playingDate to compute player latency).
  (window as unknown as { livehouseHls?: Hls }).livehouseHls = h;
  h.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
    set({ levels: data.levels });
    autoplay(video);
  });
  h.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) h.recoverMediaError();
    else set({ error: 'The stream could not be loaded.' });
  });
  const stopFollowing = followLiveEdge(video, h);
  h.loadSource(withToken(src, token));
  h.attachMedia(video);
  return p;
}

// adoptWithin bounds how long an early playback waits for its Player (the app failed to
// start, or shows something else): then it is stopped.
export const adoptWithin = 15_000;

let early: Playback | undefined;
// Once a Player has asked, nothing more starts early: a playback started after that would
// have no Player to show it.
let closed = false;

// startEarly starts the playback of a channel page's live stream before its Player exists,
// if hls.js can run here and no Player has asked yet. src is the playback URL without its
// token, as the channel page gives it to the Player.
export function startEarly(src: string, token: string | undefined): Playback | undefined {
  if (closed || early || !Hls.isSupported()) return undefined;
  const video = document.createElement('video');
  video.playsInline = true;
  const p = startPlayback(video, src, token);
  early = p;
  window.setTimeout(() => {
    if (early !== p) return;
    early = undefined;
    closed = true;
    p.destroy();
  }, adoptWithin);
  return p;
}

// takeEarly hands the Player the playback started early for src, once. One started for
// another stream is stopped.
export function takeEarly(src: string): Playback | undefined {
  closed = true;
  const p = early;
  early = undefined;
  if (!p) return undefined;
  if (p.src !== src) {
    p.destroy();
    return undefined;
  }
  return p;
}

// resetEarly forgets the early playback (for tests).
export function resetEarly() {
  early?.destroy();
  early = undefined;
  closed = false;
}
