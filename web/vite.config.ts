import { sveltekit } from '@sveltejs/kit/vite';
import { resolve } from 'node:path';
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

/**
 * The public chat page in two chunks instead of some thirty (issue 13: at most 80 KB of compressed JS
 * and CSS). Left to itself the bundler splits what the chat page shares with the other pages into many
 * chunks of a few hundred bytes (each icon, Alert, Spinner, the API client, pieces of the runtime …);
 * each is a request, and over HTTP/1.1 a response's headers (~300 bytes) weigh as much as such a body.
 * Here everything the chat page imports statically and some other page or layout also imports goes into
 * one `shared` chunk; what only the chat page uses stays in the page's own chunk, as before. Every page
 * loads the runtime anyway; a page that uses none of the rest loads a few KB it did not need, once.
 */
type Graph = { getModuleInfo(id: string): { importedIds: readonly string[]; importers: readonly string[]; dynamicImporters: readonly string[] } | null };
function chatPageChunks(): Plugin {
  let page = '';
  let shared: Set<string> | undefined;
  /** The modules the chat page imports statically (directly or not) that something else imports too. */
  const sharedWithOthers = (g: Graph): Set<string> => {
    const closure = new Set<string>();
    const queue = [page];
    while (queue.length) {
      const id = queue.pop()!;
      if (closure.has(id)) continue;
      closure.add(id);
      for (const dep of g.getModuleInfo(id)?.importedIds ?? []) queue.push(dep);
    }
    // Only the chat page's: imported only by the page or by modules that are only the chat page's.
    const only = new Set([...closure].filter((id) => id !== page));
    for (let changed = true; changed;) {
      changed = false;
      for (const id of only) {
        const info = g.getModuleInfo(id);
        const by = [...(info?.importers ?? []), ...(info?.dynamicImporters ?? [])];
        if (by.some((i) => i !== page && !only.has(i))) { only.delete(id); changed = true; }
      }
    }
    return new Set([...closure].filter((id) => id !== page && !only.has(id)));
  };
  return {
    name: 'switchboard:chat-page-chunks',
    apply: 'build',
    configResolved(config) {
      page = resolve(config.root, 'src/routes/chat/[slug]/+page.svelte');
    },
    config(_config, env) {
      if (env.isSsrBuild) return; // the server build only renders SvelteKit's fallback page: its chunks are never sent
      return {
        build: {
          rolldownOptions: {
            output: {
              codeSplitting: {
                groups: [{ name: (id, g) => ((shared ??= sharedWithOthers(g)).has(id) ? 'shared' : null) }],
              },
            },
          },
        },
      };
    },
  };
}

export default defineConfig({
  // Tailwind runs as a PostCSS plugin (postcss.config.js, tailwind.config.js).
  plugins: [withoutPreviewHint(), chatPageChunks(), sveltekit()],
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
