import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => cleanup());

// jsdom does not scroll; the app scrolls a new page to its top.
window.scrollTo = () => undefined;
