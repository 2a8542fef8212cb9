import { useSyncExternalStore } from 'react';

// useMediaQuery follows a CSS media query.
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const m = window.matchMedia(query);
      m.addEventListener('change', onChange);
      return () => m.removeEventListener('change', onChange);
    },
    () => window.matchMedia(query).matches,
  );
}

// The reference stacks the channel page below its lg breakpoint.
export const stackedQuery = '(max-width: 989px)';
