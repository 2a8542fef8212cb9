// imageSrc is where the page loads a picture from: our own files as they are, another site's
// through the server's image proxy (GET /api/images), so the CSP keeps img-src to 'self' and
// viewers' browsers never contact the other site. Anything else (javascript:, data:, garbage)
// shows nothing.
export function imageSrc(url: string): string {
  if (!url) return '';
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
  if (u.origin === window.location.origin) return u.pathname + u.search;
  return `/api/images?url=${encodeURIComponent(u.href)}`;
}
