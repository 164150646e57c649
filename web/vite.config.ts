import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';

const backend = process.env.SWITCHBOARD_DEV_BACKEND ?? 'http://127.0.0.1:3000';

/**
 * SvelteKit prints "Run npm run preview to preview your production build locally." with a bare
 * console.log after every build. Switchboard is served by its own Node process, never by
 * `vite preview`, so a newcomer would only be misled: this drops that one line (and then puts
 * console.log back), letting everything else through.
 */
function withoutPreviewHint(): Plugin {
  return {
    name: 'switchboard:without-preview-hint',
    enforce: 'pre',
    apply: 'build',
    closeBundle: {
      order: 'pre',
      handler() {
        const original = console.log;
        console.log = (...args: unknown[]) => {
          if (args.length === 1 && typeof args[0] === 'string' && args[0].includes('to preview your production build locally')) {
            console.log = original;
            return;
          }
          original(...args);
        };
      },
    },
  };
}

export default defineConfig({
  // Tailwind runs as a PostCSS plugin (postcss.config.js, tailwind.config.js).
  plugins: [withoutPreviewHint(), sveltekit()],
  // A quiet build: warnings and errors only, not a line per chunk (~170) nor a timing report
  // (`cd web && npx vite build --logLevel info` shows the chunk list when wanted).
  logLevel: 'warn',
  build: {
    reportCompressedSize: false,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  server: {
    // `vite dev` in web/ talks to a locally running `npm run dev` backend.
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/v1': { target: backend, changeOrigin: false },
      '/health': { target: backend, changeOrigin: false },
    },
  },
});
