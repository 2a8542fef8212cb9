// AnimalFace draws the 14 built-in avatars as small SVG faces, so they look the same in every
// browser and need no image files or emoji fonts.
type Props = { kind: string };

const ink = '#1d1b26';

function Eyes({ y = 52, dx = 12, r = 4.5 }: { y?: number; dx?: number; r?: number }) {
  return (
    <>
      <circle cx={50 - dx} cy={y} r={r} fill={ink} />
      <circle cx={50 + dx} cy={y} r={r} fill={ink} />
      <circle cx={50 - dx + 1.5} cy={y - 1.5} r={1.3} fill="#fff" />
      <circle cx={50 + dx + 1.5} cy={y - 1.5} r={1.3} fill="#fff" />
    </>
  );
}

const faces: Record<string, () => React.JSX.Element> = {
  bear: () => (
    <>
      <circle cx="27" cy="30" r="11" fill="#8a5a3b" />
      <circle cx="73" cy="30" r="11" fill="#8a5a3b" />
      <circle cx="50" cy="56" r="30" fill="#a8714b" />
      <ellipse cx="50" cy="67" rx="13" ry="10" fill="#e8c9a8" />
      <ellipse cx="50" cy="62" rx="5" ry="3.5" fill={ink} />
      <Eyes y={50} />
    </>
  ),
  bird: () => (
    <>
      <circle cx="50" cy="54" r="30" fill="#4fa3e0" />
      <ellipse cx="50" cy="68" rx="18" ry="13" fill="#dff0fb" />
      <polygon points="44,58 56,58 50,70" fill="#f5a623" />
      <Eyes y={48} dx={11} />
    </>
  ),
  bird2: () => (
    <>
      <path d="M50 18 C44 10 38 14 42 24 C38 16 30 20 38 28 Z" fill="#2fbf71" />
      <circle cx="50" cy="55" r="29" fill="#e94b3c" />
      <circle cx="38" cy="60" r="9" fill="#fff" opacity="0.5" />
      <path d="M50 56 Q64 60 56 74 Q52 66 46 64 Z" fill="#f7c325" />
      <Eyes y={48} dx={12} />
    </>
  ),
  dog: () => (
    <>
      <ellipse cx="24" cy="50" rx="10" ry="20" fill="#6b4a2f" transform="rotate(15 24 50)" />
      <ellipse cx="76" cy="50" rx="10" ry="20" fill="#6b4a2f" transform="rotate(-15 76 50)" />
      <circle cx="50" cy="54" r="28" fill="#c48a54" />
      <ellipse cx="50" cy="68" rx="12" ry="9" fill="#f1dcc3" />
      <ellipse cx="50" cy="62" rx="5" ry="4" fill={ink} />
      <Eyes y={49} dx={11} />
    </>
  ),
  dog2: () => (
    <>
      <polygon points="22,40 30,12 44,32" fill="#d9d9d9" />
      <polygon points="78,40 70,12 56,32" fill="#d9d9d9" />
      <circle cx="50" cy="55" r="28" fill="#9aa0a6" />
      <path d="M50 44 L38 80 L62 80 Z" fill="#f4f4f4" />
      <ellipse cx="50" cy="66" rx="5" ry="4" fill={ink} />
      <Eyes y={50} dx={12} />
    </>
  ),
  dog3: () => (
    <>
      <circle cx="36" cy="26" r="11" fill="#f4e9f2" />
      <circle cx="50" cy="22" r="12" fill="#f4e9f2" />
      <circle cx="64" cy="26" r="11" fill="#f4e9f2" />
      <circle cx="24" cy="56" r="12" fill="#f4e9f2" />
      <circle cx="76" cy="56" r="12" fill="#f4e9f2" />
      <circle cx="50" cy="56" r="26" fill="#fbf5f9" />
      <ellipse cx="50" cy="66" rx="5" ry="4" fill={ink} />
      <Eyes y={52} dx={10} />
    </>
  ),
  giraffe: () => (
    <>
      <rect x="35" y="14" width="5" height="16" fill="#c9822b" />
      <rect x="60" y="14" width="5" height="16" fill="#c9822b" />
      <circle cx="37.5" cy="14" r="4" fill="#8a5418" />
      <circle cx="62.5" cy="14" r="4" fill="#8a5418" />
      <ellipse cx="50" cy="54" rx="25" ry="30" fill="#f2c14e" />
      <circle cx="34" cy="40" r="5" fill="#c9822b" />
      <circle cx="66" cy="36" r="4" fill="#c9822b" />
      <ellipse cx="50" cy="72" rx="14" ry="9" fill="#e0a23a" />
      <Eyes y={50} dx={11} />
    </>
  ),
  hedgehog: () => (
    <>
      <polygon points="50,8 60,30 74,16 72,38 90,34 78,52 94,62 74,66 50,60 26,66 6,62 22,52 10,34 28,38 26,16 40,30" fill="#6d4c3d" />
      <circle cx="50" cy="60" r="24" fill="#e8cfb0" />
      <ellipse cx="50" cy="70" rx="4" ry="3" fill={ink} />
      <Eyes y={56} dx={9} />
    </>
  ),
  hippo: () => (
    <>
      <circle cx="30" cy="28" r="7" fill="#8e7cc3" />
      <circle cx="70" cy="28" r="7" fill="#8e7cc3" />
      <ellipse cx="50" cy="48" rx="28" ry="24" fill="#a896d6" />
      <ellipse cx="50" cy="68" rx="30" ry="18" fill="#bcaee3" />
      <ellipse cx="40" cy="66" rx="3.5" ry="2.5" fill={ink} />
      <ellipse cx="60" cy="66" rx="3.5" ry="2.5" fill={ink} />
      <Eyes y={42} dx={12} />
    </>
  ),
  horse: () => (
    <>
      <polygon points="32,28 38,8 46,26" fill="#7b4a26" />
      <polygon points="68,28 62,8 54,26" fill="#7b4a26" />
      <path d="M40 16 Q50 4 60 16 L56 40 L44 40 Z" fill="#2b1d14" />
      <rect x="30" y="24" width="40" height="62" rx="20" fill="#9c6236" />
      <ellipse cx="50" cy="76" rx="17" ry="11" fill="#c99468" />
      <circle cx="44" cy="76" r="2.5" fill={ink} />
      <circle cx="56" cy="76" r="2.5" fill={ink} />
      <Eyes y={46} dx={12} />
    </>
  ),
  ibex: () => (
    <>
      <path d="M38 34 C24 28 18 10 30 6 C26 14 32 24 42 28 Z" fill="#8b7d6b" />
      <path d="M62 34 C76 28 82 10 70 6 C74 14 68 24 58 28 Z" fill="#8b7d6b" />
      <ellipse cx="50" cy="56" rx="24" ry="28" fill="#c8b08a" />
      <path d="M42 78 L50 92 L58 78 Z" fill="#a18b68" />
      <ellipse cx="50" cy="70" rx="4" ry="3" fill={ink} />
      <Eyes y={52} dx={11} />
    </>
  ),
  jellyfish: () => (
    <>
      <path d="M22 52 Q22 20 50 20 Q78 20 78 52 Z" fill="#f08fc0" />
      <path d="M30 52 q-3 12 2 24 M42 52 q4 14 -2 30 M58 52 q-4 14 2 30 M70 52 q3 12 -2 24" stroke="#f08fc0" strokeWidth="5" fill="none" strokeLinecap="round" />
      <Eyes y={40} dx={10} r={4} />
      <path d="M45 46 Q50 50 55 46" stroke={ink} strokeWidth="2" fill="none" strokeLinecap="round" />
    </>
  ),
  sheep: () => (
    <>
      {[0, 45, 90, 135, 180, 225, 270, 315].map((a) => (
        <circle key={a} cx={50 + 27 * Math.cos((a * Math.PI) / 180)} cy={52 + 27 * Math.sin((a * Math.PI) / 180)} r="13" fill="#fafafa" />
      ))}
      <ellipse cx="50" cy="56" rx="18" ry="22" fill="#3b3540" />
      <Eyes y={52} dx={8} r={3.5} />
      <ellipse cx="50" cy="66" rx="3" ry="2" fill="#fafafa" />
    </>
  ),
  tiger: () => (
    <>
      <circle cx="27" cy="28" r="10" fill="#f28c28" />
      <circle cx="73" cy="28" r="10" fill="#f28c28" />
      <circle cx="50" cy="55" r="30" fill="#f5a142" />
      <path d="M50 26 L46 36 M40 28 L40 38 M60 28 L60 38 M20 52 L30 54 M20 62 L30 60 M80 52 L70 54 M80 62 L70 60" stroke={ink} strokeWidth="3" strokeLinecap="round" />
      <ellipse cx="50" cy="68" rx="14" ry="10" fill="#fff3e0" />
      <ellipse cx="50" cy="63" rx="4.5" ry="3" fill={ink} />
      <Eyes y={50} />
    </>
  ),
};

export const animalKinds = Object.keys(faces);

export function AnimalFace({ kind }: Props) {
  const Face = faces[kind];
  if (!Face) return null;
  return (
    <svg viewBox="0 0 100 100" width="100%" height="100%" aria-hidden="true" focusable="false">
      <Face />
    </svg>
  );
}
