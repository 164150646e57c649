import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

const backend = process.env.SWITCHBOARD_DEV_BACKEND ?? 'http://127.0.0.1:3000';

export default defineConfig({
  // Tailwind runs as a PostCSS plugin (postcss.config.js, tailwind.config.js).
  plugins: [sveltekit()],
  server: {
    // `vite dev` in web/ talks to a locally running `npm run dev` backend.
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/v1': { target: backend, changeOrigin: false },
      '/health': { target: backend, changeOrigin: false },
    },
  },
});
