import { colorValue } from '../lib/profile';
import { AnimalFace, animalKinds } from './AnimalFace';

type Props = { username: string; avatar: string; avatarUrl?: string; color: string; size?: number; live?: boolean };

// Avatar shows an uploaded picture, or a built-in one on the profile color, with a live ring.
export function Avatar({ username, avatar, avatarUrl, color, size = 40, live }: Props) {
  const style = { width: size, height: size, background: colorValue[color] ?? '#888', fontSize: size * 0.5 };
  return (
    <span className={`avatar${live ? ' avatar-live' : ''}`} style={style} role="img" aria-label={`${username}'s avatar`}>
      {avatar === 'custom' && avatarUrl ? (
        <img src={avatarUrl} alt="" />
      ) : animalKinds.includes(avatar) ? (
        <AnimalFace kind={avatar} />
      ) : (
        <span aria-hidden="true">{username.slice(0, 1).toUpperCase()}</span>
      )}
    </span>
  );
}
