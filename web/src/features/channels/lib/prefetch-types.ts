// What the boot script's prefetch (prefetch.ts) hands the app (prefetched.ts). Types only: the
// two sides are in different entry chunks and share no code.

// PrefetchedFile is a playlist, init section or part fetched ahead of the player.
export type PrefetchedFile = {
  url: string; // as fetched, with its token
  start: number; // performance.now() when the request went out
  end?: number; // and when its body had arrived
  data: Promise<string | ArrayBuffer>;
};

export type LivePlayback = { playbackUrl: string; playbackToken?: string };

export type ChannelPrefetch = {
  username: string; // lower case
  channel?: Promise<Response>; // GET /api/channels/{username}, until the app takes it
  // The channel's playback URL and token once its data says it is live (its multivariant
  // playlist is on its way by then), else undefined: src/early.ts starts hls.js with it.
  live: Promise<LivePlayback | undefined>;
  files: Map<string, PrefetchedFile>; // by fileKey: absolute URL without the token
  stopped: boolean; // the player is gone, or never came: stop following the edge
};

declare global {
  interface Window {
    livehousePrefetch?: ChannelPrefetch;
  }
}
