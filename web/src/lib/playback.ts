// The playback token: the channel route puts it on the playback URL (?token=…), and every
// HLS request must carry it. Playlists never list it (so every viewer's URLs are the same and
// a cache can share them), so the player adds it to each URL it loads.

export const tokenParam = 'token';

// tokenOf is the token on a playback URL, if any.
export function tokenOf(src: string): string | null {
  return new URL(src, window.location.href).searchParams.get(tokenParam);
}

// withToken adds the token to url unless it carries one or there is none.
export function withToken(url: string, token: string | null): string {
  if (!token) return url;
  const u = new URL(url, window.location.href);
  if (u.searchParams.has(tokenParam)) return url;
  u.searchParams.set(tokenParam, token);
  return u.toString();
}
