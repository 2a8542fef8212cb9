// Playback tokens: the channel page hands the player a short-lived signed token, which goes
// as the `token` query parameter on every /hls/ request (an edge cache ignores it in its key,
// the origin checks it). The player's viewing beacon reports the playback session, which is
// what viewer counts count, and brings back a fresh token before the old one expires; a viewer
// banned since gets none, so their playback stops within one token lifetime.

export const tokenParam = 'token';

// tokenOf is the token on a playback URL (the stream manager's preview gets its URL with one
// from /api/me), if any.
export function tokenOf(src: string): string | undefined {
  return new URL(src, window.location.href).searchParams.get(tokenParam) ?? undefined;
}

// withToken returns url with its token parameter set to token (none when token is empty).
export function withToken(url: string, token: string | undefined): string {
  const u = new URL(url, window.location.href);
  if (token) u.searchParams.set(tokenParam, token);
  else u.searchParams.delete(tokenParam);
  // Keep same-origin URLs relative, as the page gave them.
  return u.origin === window.location.origin && !/^[a-z]+:/i.test(url) ? u.pathname + u.search + u.hash : u.toString();
}

type Ticket = { token: string; expiresAt: string; renewAfterSeconds: number };

// The first beacon goes at once; later ones as the server says (every 30 s by default).
const defaultRenewSeconds = 30;
// A failed beacon (network, server busy) is retried sooner.
const retrySeconds = 5;

// startBeacons reports a playback session of channel: at once, then every renewAfterSeconds,
// handing each fresh token to onToken. A refusal (403: banned since, or the token is no
// longer valid) stops the beacons and calls onRefused. The returned function ends the session:
// a leaving beacon (kept alive past the page's unload) drops the viewer from the count at
// once; it runs on pagehide too, so a closed tab stops counting immediately.
export function startBeacons(channel: string, token: string, onToken: (token: string) => void, onRefused: () => void = () => undefined) {
  const path = `/api/channels/${encodeURIComponent(channel)}/views`;
  let current = token;
  let timer: number | undefined;
  let stopped = false;
  const send = async () => {
    let next = retrySeconds;
    try {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token: current }),
        credentials: 'same-origin',
      });
      if (stopped) return;
      if (res.status === 403 || res.status === 404) {
        stopped = true;
        window.removeEventListener('pagehide', leave);
        onRefused();
        return;
      }
      if (res.ok) {
        const t = (await res.json()) as Ticket;
        if (stopped) return;
        if (t.token) {
          current = t.token;
          onToken(t.token);
        }
        next = t.renewAfterSeconds > 0 ? t.renewAfterSeconds : defaultRenewSeconds;
      }
    } catch {
      // Offline for a moment: try again soon.
    }
    if (!stopped) timer = window.setTimeout(send, next * 1000);
  };
  const leave = () => {
    if (stopped) return;
    stopped = true;
    window.clearTimeout(timer);
    window.removeEventListener('pagehide', leave);
    fetch(path, {
      method: 'DELETE',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: current }),
      credentials: 'same-origin',
      keepalive: true,
    }).catch(() => undefined);
  };
  window.addEventListener('pagehide', leave);
  void send();
  return leave;
}

// stripToken is the playback URL without its token: what identifies the stream.
export function stripToken(url: string): string {
  return withToken(url, undefined);
}
