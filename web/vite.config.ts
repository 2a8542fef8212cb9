/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const backend = 'http://127.0.0.1:8080';

// bootScript adds the boot entry (src/boot.ts) to index.html, loaded async so it
// runs as soon as it arrives, ahead of the app; and names the player's chunk in a meta tag
// for it to preload on channel pages only (a preload link here would load hls.js on every
// page).
function bootScript(): Plugin {
  return {
    name: 'livehouse-boot',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        if (!ctx.bundle) return [{ tag: 'script', attrs: { type: 'module', async: true, src: '/src/boot.ts' }, injectTo: 'head' }];
        const chunks = Object.values(ctx.bundle).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const boot = chunks.find((c) => c.isEntry && c.name === 'boot');
        const player = chunks.find((c) => c.facadeModuleId?.endsWith('/features/channels/components/Player.tsx'));
        if (!boot || !player) throw new Error('livehouse-boot: the boot entry or the player chunk is missing from the build');
        return [
          { tag: 'meta', attrs: { name: 'livehouse-player', content: `/${player.fileName}` }, injectTo: 'head' },
          { tag: 'script', attrs: { type: 'module', async: true, src: `/${boot.fileName}` }, injectTo: 'head' },
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
    rollupOptions: { input: { index: 'index.html', boot: 'src/boot.ts' } },
  },
  server: {
    proxy: { '/api': backend, '/hls': backend, '/healthz': backend, '/metrics': backend },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
