import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => cleanup());

// findBy… and waitFor wait up to this long for what they look for (1 s by default).
configure({ asyncUtilTimeout: 10_000 });

// jsdom does not scroll; the app scrolls a new page to its top.
window.scrollTo = () => undefined;
