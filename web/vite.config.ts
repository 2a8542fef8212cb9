/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const backend = 'http://127.0.0.1:8080';

// bootScript adds the boot entry (src/boot.ts) to index.html, first in the head and at high
// priority (an async script is otherwise fetched after the app's), so that it runs as soon as
// it arrives, ahead of the app; and names in meta tags what it loads on channel pages only (a
// preload link here would load hls.js on every page): the early player entry (src/early.ts)
// and the chunks it imports (hls.js), which it preloads all at once rather than one import
// after another, and the Player's chunk.
function bootScript(): Plugin {
  return {
    name: 'livehouse-boot',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        if (!ctx.bundle) return [{ tag: 'script', attrs: { type: 'module', async: true, src: '/src/boot.ts' }, injectTo: 'head-prepend' }];
        const chunks = Object.values(ctx.bundle).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const boot = chunks.find((c) => c.isEntry && c.name === 'boot');
        const early = chunks.find((c) => c.isEntry && c.name === 'early');
        const player = chunks.find((c) => c.facadeModuleId?.endsWith('/features/channels/components/Player.tsx'));
        if (!boot || !early || !player) throw new Error('livehouse-boot: the boot or early entry or the player chunk is missing from the build');
        if (boot.imports.length > 0) throw new Error(`livehouse-boot: the boot entry must import nothing, it imports ${boot.imports.join(', ')}`);
        // Every chunk the early entry and the Player import, however deep: hls.js is imported
        // by hls-playback, not by the early entry itself, and a chunk found only when its
        // importer is evaluated waits for a main thread that the app's start keeps busy (on a
        // CPU-starved page hls.js was requested a second after the early entry).
        const byName = new Map(chunks.map((c) => [c.fileName, c]));
        const preload = new Set<string>();
        const walk = (names: string[]) => {
          for (const n of names) {
            if (preload.has(n)) continue;
            preload.add(n);
            walk(byName.get(n)?.imports ?? []);
          }
        };
        // What index.html loads anyway (the app's entry and its imports) is left out.
        const app = chunks.find((c) => c.isEntry && c.name === 'index');
        if (app) walk([app.fileName]);
        const loaded = new Set(preload);
        preload.clear();
        walk([...early.imports, player.fileName, ...player.imports]);
        for (const n of loaded) preload.delete(n);
        return [
          { tag: 'meta', attrs: { name: 'livehouse-early', content: `/${early.fileName}` }, injectTo: 'head-prepend' },
          { tag: 'meta', attrs: { name: 'livehouse-preload', content: [...preload].map((f) => `/${f}`).join(' ') }, injectTo: 'head-prepend' },
          { tag: 'script', attrs: { type: 'module', async: true, fetchpriority: 'high', src: `/${boot.fileName}` }, injectTo: 'head-prepend' },
        ];
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), bootScript()],
  // hls.js alone is about 580 kB; it is split into the player's own chunk, loaded when a stream is live.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
    rollupOptions: { input: { index: 'index.html', boot: 'src/boot.ts', early: 'src/early.ts' } },
  },
  server: {
    proxy: { '/api': backend, '/hls': backend, '/healthz': backend, '/metrics': backend },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}', 'bench/**/*.test.mjs'],
    css: false,
    // Tests wait for what they assert (findBy…, waitFor), never for a time; the budgets are for
    // a busy machine (make test beside another, on 2 cores), where the 5 s default and testing
    // library's 1 s waits ran out in suites that pass alone.
    testTimeout: 30_000,
  },
});
