import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // Pure SPA: the Node server serves build/ and falls back to index.html for
    // every unknown non-API path, so client-side routing takes over.
    // precompress writes .br and .gz next to every file; src/http/static.ts serves them by Accept-Encoding.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true, precompress: true }),
    // Defence in depth for rendered model output: no inline or foreign scripts,
    // no plugins. SvelteKit adds the hash of its own boot script to this policy.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        // blob: the chat's previews of a picked image and of a just-recorded voice note (made by our own script).
        'img-src': ['self', 'data:', 'blob:'],
        'media-src': ['self', 'blob:'],
        'connect-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
  },
};

export default config;
