// Types of chromium.mjs, for the TypeScript that imports it (playwright.config.ts, e2e/).
export declare const chromiumPath: string;
export declare const chromiumArgs: readonly string[];
export declare const fakeMediaArgs: readonly string[];
