import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { DEV_CSP, META_CSP } from './src/main/csp';

// One build for both shells: out/main holds the Electron entry (index.js) and the
// plain-Node entries (cli.js, web.js, the engine worker) that never import 'electron'.
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          cli: resolve(__dirname, 'src/main/cli.ts'),
          web: resolve(__dirname, 'src/main/web-entry.ts'),
          // worker_threads entry of the engine pool (src/main/engine/runtime/pool/pool.ts starts it).
          'engine-worker': resolve(__dirname, 'src/main/engine/worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: {
      rollupOptions: {
        input: { index: resolve(__dirname, 'src/renderer/index.html') },
      },
    },
    plugins: [
      vue(),
      {
        // `electron-vite dev` only: Vite's HMR injects <style> elements, which the built
        // app's policy (index.html's <meta>, src/main/csp.ts) rightly forbids.
        name: 'simlens-dev-csp',
        apply: 'serve',
        transformIndexHtml: (html: string) => html.replace(META_CSP, DEV_CSP.replace(/; frame-ancestors [^;]+/, '')),
      },
    ],
  },
});
