/**
 * Fetching a URL someone else chose (a customer's site, a page the model asked for) is done through
 * this port, whose adapter (infra/safe-fetch.ts) refuses private and internal addresses. Services and
 * tools receive it as an argument; they never open a socket to a chosen URL themselves.
 */

/** Why a URL could not be fetched. `kind` says which part failed; `message` is safe to show. */
export class FetchRefused extends Error {
  constructor(readonly kind: 'url' | 'address' | 'dns' | 'network' | 'timeout' | 'redirects', message: string) {
    super(message);
    this.name = 'FetchRefused';
  }
}

export type FetchOptions = {
  /** The whole exchange, redirects included (default 10 s). */
  timeoutMs?: number;
  /** Body bytes kept (after decompression); the rest is not read (default 1 MiB). */
  maxBytes?: number;
  /** Redirects followed (default 5). */
  maxRedirects?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

export type FetchResult = {
  url: string; status: number; statusText: string; headers: Record<string, string>;
  body: string; bytes: number; truncated: boolean;
  /** Every URL visited, the first one included. */
  hops: string[];
  /** Milliseconds from the start to the final response's headers (time to first byte, redirects included) and to its last body byte. */
  ttfbMs?: number;
  totalMs?: number;
  /** https: when the final hop's TLS certificate expires (ISO 8601), read from the peer certificate. */
  certValidTo?: string | null;
};

/** The SSRF-safe fetcher. Throws FetchRefused; any HTTP status is a result, not an error. */
export interface SafeFetcher {
  fetch(url: string, o?: FetchOptions): Promise<FetchResult>;
  /** Checks a URL's form and every address its host resolves to; the address to connect to (pinned). */
  vet(url: string | URL): Promise<{ url: URL; address: string; family: 4 | 6 }>;
  /**
   * POSTs a body to a URL someone else chose: vetted like `fetch`, connected to the vetted address (no second DNS
   * answer), no redirects followed, bounded in time; the answer's status (the body is read up to 64 KiB and dropped).
   */
  post(url: string, body: string, o?: { headers?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number }>;
}
