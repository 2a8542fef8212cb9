import { avatars, colorValue } from '../lib/profile';

type Props = { username: string; avatar: string; avatarUrl?: string; color: string; size?: number; live?: boolean };

// Avatar shows an uploaded picture, or a built-in one on the profile color, with a live ring.
export function Avatar({ username, avatar, avatarUrl, color, size = 40, live }: Props) {
  const style = { width: size, height: size, background: colorValue[color] ?? '#888', fontSize: size * 0.55 };
  return (
    <span className={`avatar${live ? ' avatar-live' : ''}`} style={style} role="img" aria-label={`${username}'s avatar`}>
      {avatar === 'custom' && avatarUrl ? <img src={avatarUrl} alt="" /> : <span aria-hidden="true">{avatars[avatar] ?? username.slice(0, 1).toUpperCase()}</span>}
    </span>
  );
}
