// Profile colors and built-in avatars, as the server defines them.
export const colors = ['blue', 'green', 'lavender', 'purple', 'salmon', 'turquoise', 'yellow'] as const;

// The built-in avatars; components/AnimalFace draws them.
export const avatars = ['bear', 'bird', 'bird2', 'dog', 'dog2', 'dog3', 'giraffe', 'hedgehog', 'hippo', 'horse', 'ibex', 'jellyfish', 'sheep', 'tiger'] as const;

export const colorValue: Record<string, string> = {
  blue: '#3d7bff',
  green: '#1f9d55',
  lavender: '#b9a7ff',
  purple: '#8e44ec',
  salmon: '#ff8c7a',
  turquoise: '#2ec4c4',
  yellow: '#ffd23f',
};
