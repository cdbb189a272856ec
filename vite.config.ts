/**
 * Builds the web UI (ui/) into dist/ui/, which `podvisor serve` serves under /ui/. Two pages:
 * the app (index.html) and the login page (login.html), which loads only its own small assets.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: 'ui',
  base: '/ui/',
  publicDir: false,
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill would be a module shared by both pages; every browser the UI targets has
    // modulepreload, and the login page must not load anything of the app's.
    modulePreload: { polyfill: false },
    // No inlined data: URLs (a strict Content-Security-Policy may refuse them).
    assetsInlineLimit: 0,
    rolldownOptions: {
      input: {
        index: here('./ui/index.html'),
        login: here('./ui/login.html'),
      },
    },
  },
});
