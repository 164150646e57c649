// A pure single-page app: the Node server serves build/index.html for every
// non-API path and the client router takes it from there.
import { loadMeta } from '$lib/meta';

export const ssr = false;
export const prerender = false;

/** The server's limits, defaults and tool catalog, before any page renders. */
export const load = async () => {
  await loadMeta();
  return {};
};
