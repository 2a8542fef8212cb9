// The channel page's head start. A tiny entry script (src/boot.ts) runs this while the app's
// own JavaScript is still downloading and compiling (on a busy machine that takes most of a
// second): on a channel page it fetches the channel, and if it is live, the multivariant
// playlist, the first variant's media playlists (video and its audio rendition), their init
// sections and the parts of the newest segment, following the live edge with blocking
// reloads until the player takes over. The app then reads the channel's data from
// here instead of asking again (prefetched.ts), and hls.js gets what is already here from
// memory through its loader. It imports no code: the boot script must stay small and must not
// share a chunk with the app.
import type { ChannelPrefetch, LivePlayback, PrefetchedFile } from './prefetch-types';

// Paths of the app that are not channels (and cannot be usernames).
const appRoutes = new Set(['following', 'settings', 'manager', 'health', 'login', 'register', 'reset', 'admin', 'api', 'assets', 'hls', 'me']);
const usernameRE = /^[a-zA-Z0-9._]{4,20}$/;

// followFor bounds how long the prefetch follows the live edge with nobody taking it (the app
// failed to start, say); what it holds is then dropped.
export const followFor = 15_000;
// maxParts bounds the parts held per playlist (a segment has about ten).
const maxParts = 30;

// channelOfPath is the username whose page path shows, if it is a channel page.
export function channelOfPath(path: string): string | undefined {
  const m = /^\/([^/]+)(?:\/profile)?\/?$/.exec(path);
  if (!m) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  if (!usernameRE.test(name) || appRoutes.has(name.toLowerCase())) return undefined;
  return name;
}

// fileKey is the key a media URL is held under: absolute, without its playback token.
export function fileKey(url: string, base: string): string {
  const u = new URL(url, base);
  u.searchParams.delete('token');
  u.hash = '';
  return u.href;
}

// attr reads an attribute of an HLS tag line (quoted or not).
function attr(line: string, name: string): string | undefined {
  const m = new RegExp(`[:,]${name}=("([^"]*)"|[^,]*)`).exec(line);
  return m ? (m[2] ?? m[1]) : undefined;
}

// firstVariant picks what hls.js starts with: the first variant the multivariant playlist
// lists, and the default rendition of its audio group. URIs are as written.
export function firstVariant(multivariant: string): { video: string; audio?: string } | undefined {
  const lines = multivariant.split(/\r?\n/).map((l) => l.trim());
  const i = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF:'));
  if (i < 0) return undefined;
  const video = lines.slice(i + 1).find((l) => l !== '' && !l.startsWith('#'));
  if (!video) return undefined;
  const group = attr(lines[i], 'AUDIO');
  if (!group) return { video };
  const renditions = lines.filter((l) => l.startsWith('#EXT-X-MEDIA:') && attr(l, 'TYPE') === 'AUDIO' && attr(l, 'GROUP-ID') === group && attr(l, 'URI'));
  const chosen = renditions.find((l) => attr(l, 'DEFAULT') === 'YES') ?? renditions[0];
  return { video, audio: chosen && attr(chosen, 'URI') };
}

// MediaEdge is what a media playlist says about its live edge.
export type MediaEdge = {
  init?: string; // the EXT-X-MAP URI
  // The parts of the newest segment that has any, oldest first: a player starting at the
  // live edge loads from the newest independent part (the segment's first, or a later
  // keyframe), or, PART-HOLD-BACK behind the edge, from the segment's start.
  parts: string[];
  hint?: string; // the preload hint: the part being written
  next?: { msn: number; part: number }; // the _HLS_msn/_HLS_part of the next part
  ended: boolean;
};

// liveEdge reads a media playlist's edge.
export function liveEdge(playlist: string): MediaEdge {
  const edge: MediaEdge = { parts: [], ended: false };
  let msn = 0;
  let segment: string[] = []; // the parts of the segment being read
  for (const raw of playlist.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) msn = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-MAP:')) edge.init = attr(line, 'URI');
    else if (line.startsWith('#EXT-X-PART:')) {
      const uri = attr(line, 'URI');
      if (uri) segment.push(uri);
    } else if (line.startsWith('#EXT-X-PRELOAD-HINT:') && attr(line, 'TYPE') === 'PART') edge.hint = attr(line, 'URI');
    else if (line.startsWith('#EXT-X-ENDLIST')) edge.ended = true;
    else if (line !== '' && !line.startsWith('#')) {
      // A segment's URI closes it: the parts that follow belong to the next one.
      if (segment.length > 0) edge.parts = segment;
      segment = [];
      msn++;
    }
  }
  if (segment.length > 0) edge.parts = segment;
  if (Number.isInteger(msn)) edge.next = { msn, part: segment.length };
  return edge;
}

// prefetchChannelPage starts the head start for the page at path (nothing off a channel
// page) and publishes it as window.livehousePrefetch.
export function prefetchChannelPage(path: string, origin: string): ChannelPrefetch | undefined {
  const username = channelOfPath(path);
  if (!username) return undefined;
  const files = new Map<string, PrefetchedFile>();
  const channel = fetch(`/api/channels/${encodeURIComponent(username)}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  let live: (l: LivePlayback | undefined) => void = () => undefined;
  const p: ChannelPrefetch = { username: username.toLowerCase(), channel, files, stopped: false, live: new Promise((resolve) => (live = resolve)) };
  window.livehousePrefetch = p;
  const started = performance.now();
  const following = () => !p.stopped && performance.now() - started < followFor;
  const get = (url: string, as: 'text' | 'arraybuffer'): PrefetchedFile => {
    const file: PrefetchedFile = { url, start: performance.now(), data: Promise.resolve('') };
    file.data = fetch(url, { credentials: 'same-origin' }).then(async (res) => {
      if (!res.ok) throw new Error(`${url}: ${res.status}`);
      const data = as === 'text' ? await res.text() : await res.arrayBuffer();
      file.end = performance.now();
      return data;
    });
    file.data.catch(() => files.delete(fileKey(url, origin))); // a failure is not served: hls.js asks again
    return file;
  };
  const fetchOnce = (url: string) => {
    const key = fileKey(url, origin);
    if (!files.has(key)) files.set(key, get(url, 'arraybuffer'));
  };

  // follow keeps a media playlist's newest version under its plain URL, and fetches its
  // init section and the parts of its newest segment, until the player takes
  // that playlist (what it asks next goes to the network).
  const follow = async (playlistUrl: string) => {
    const key = fileKey(playlistUrl, origin);
    let url = playlistUrl;
    let held: string[] = [];
    let offered: PrefetchedFile | undefined;
    const taken = () => offered !== undefined && files.get(key) !== offered;
    while (following() && !taken()) {
      const file = get(url, 'text');
      if (!offered) {
        // The first version is offered while it loads: the player may ask for it at once.
        offered = file;
        files.set(key, offered);
      }
      let text: string;
      try {
        text = (await file.data) as string;
      } catch {
        return;
      }
      if (p.stopped || (taken() && offered !== file)) return;
      if (offered !== file) {
        offered = { ...file, url: playlistUrl };
        files.set(key, offered);
      }
      const edge = liveEdge(text);
      const abs = (u: string) => withTokenOf(new URL(u, playlistUrl).href, playlistUrl);
      if (edge.init) fetchOnce(abs(edge.init));
      const wanted = [...edge.parts, ...(edge.hint ? [edge.hint] : [])].slice(-maxParts).map(abs);
      for (const old of held) if (!wanted.includes(old)) files.delete(fileKey(old, origin));
      for (const u of wanted) fetchOnce(u);
      held = wanted;
      if (edge.ended || !edge.next) return;
      const next = new URL(playlistUrl);
      next.searchParams.set('_HLS_msn', String(edge.next.msn));
      next.searchParams.set('_HLS_part', String(edge.next.part));
      url = next.href;
    }
    if (!taken()) {
      // Nobody came: let it all go.
      p.stopped = true;
      files.clear();
    } else {
      // What the player has not taken by then it will not want.
      window.setTimeout(() => files.clear(), followFor);
    }
  };

  channel
    .then((res) => (res.ok ? res.clone().json() : undefined))
    .then(async (ch: { isLive?: boolean; playbackUrl?: string; playbackToken?: string } | undefined) => {
      if (!ch?.isLive || !ch.playbackUrl) {
        live(undefined);
        return;
      }
      const src = new URL(ch.playbackUrl, origin).href;
      const main = get(src, 'text');
      files.set(fileKey(src, origin), main);
      live({ playbackUrl: ch.playbackUrl, playbackToken: ch.playbackToken });
      const variant = firstVariant((await main.data) as string);
      if (!variant) return;
      for (const u of [variant.video, variant.audio]) {
        if (u) void follow(withTokenOf(new URL(u, src).href, src));
      }
    })
    .catch(() => live(undefined)); // the app asks again and shows the error
  return p;
}

// withTokenOf puts the playback token of from (if any) on url, as the player does.
function withTokenOf(url: string, from: string): string {
  const token = new URL(from).searchParams.get('token');
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.href;
}
