// The server's own limits, defaults and tool catalog (GET /api/meta), loaded once by the root layout
// before any page renders, so the web app copies none of the server's rules.
import { api, type Meta } from './api';

let current: Meta | null = null;
let loading: Promise<Meta> | null = null;

/** Fetches /api/meta once; later calls reuse it. A failed fetch is retried on the next call. */
export function loadMeta(): Promise<Meta> {
  if (current) return Promise.resolve(current);
  loading ??= api.meta().then(
    (m) => (current = m),
    (err) => {
      loading = null;
      throw err;
    },
  );
  return loading;
}

/** The loaded meta; the root layout's load awaits loadMeta(), so every page and component may call this. */
export function meta(): Meta {
  if (!current) throw new Error('meta() before loadMeta(): the root layout loads it');
  return current;
}

/** What people are told once an agent's budget is spent, when it has no message of its own. */
export const defaultStopMessage = (agentName: string) => meta().budgetStopMessage.replaceAll('{agent}', agentName);
