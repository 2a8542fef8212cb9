// Page titles: "<page> — Livehouse", a channel's by its name ("alice — Livehouse").
const pages: Record<string, string> = {
  '': 'Live channels',
  following: 'Following',
  settings: 'Settings',
  manager: 'Stream manager',
  health: 'Stream health',
  login: 'Log in',
  register: 'Sign up',
  reset: 'Reset password',
};

export function titleFor(pathname: string): string {
  const first = pathname.split('/')[1] ?? '';
  let name: string;
  try {
    name = pages[first] ?? decodeURIComponent(first);
  } catch {
    name = first; // a malformed escape in the address: show it as it is
  }
  return `${name} — Livehouse`;
}
