/**
 * `fetch` for the model providers' clients, over node:http(s) with keep-alive agents instead of
 * undici's fetch. Same contract as far as the AI SDK's provider packages use it: a string or URL,
 * method, headers, a string or byte body, an AbortSignal; a Response back. A JSON answer is read
 * whole and handed over as a Response over its bytes; an event stream stays a stream.
 *
 * Why: undici's fetch runs the whole WHATWG fetch algorithm (Request and Headers objects, abort
 * plumbing, a web stream for each body) for each call; for a zero-delay model that was the largest
 * single part of a non-streamed /v1 call's model time (bench/proxy.ts profile: fetch, mainFetch,
 * httpNetworkFetch, webstreams). Measured in-process against the fake model, the provider's
 * doGenerate took 0.66 ms of CPU through undici and 0.43 ms through this.
 *
 * Anything it does not handle the same way goes to the global fetch unchanged: a body that is not a
 * string or bytes (FormData for transcriptions, a stream), a redirect (re-sent by fetch, which follows
 * it), a protocol other than http and https. Failures look as they do with undici: a connection that
 * fails is `TypeError('fetch failed')` with the cause (the AI SDK retries it as it did), an abort is
 * the signal's reason / an AbortError.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** Statuses a Response may not have a body with. */
const NULL_BODY = new Set([101, 204, 205, 304]);
const abortError = (signal: AbortSignal) => signal.reason ?? new DOMException('This operation was aborted', 'AbortError');

export const nodeFetch: typeof fetch = (input, init) => {
  const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : undefined;
  const body = init?.body;
  const agent = url && agents[url.protocol as keyof typeof agents];
  if (!url || !agent || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) return fetch(input, init);
  const signal = init?.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise<Response>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: init?.method ?? 'GET', headers: headerRecord(init?.headers), agent });
    const onAbort = () => req.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    let answered = false;
    req.on('error', (err) => {
      done();
      if (answered) return; // the response's own stream reports it
      reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: err }));
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        // Redirects are rare for model APIs: let fetch follow them, as it would have.
        res.resume();
        answered = true;
        done();
        fetch(input, init).then(resolve, reject);
        return;
      }
      const headers = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const answer = { status, statusText: res.statusMessage ?? '', headers };
      if (/^text\/event-stream\b/i.test(res.headers['content-type'] ?? '')) {
        answered = true;
        res.on('close', done);
        resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, answer));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => { done(); reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: err })); });
      res.on('end', () => {
        answered = true;
        done();
        resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), answer));
      });
      // A connection closed before the body ended (settles nothing when it ended or failed already).
      res.on('close', () => { done(); reject(signal?.aborted ? abortError(signal) : new TypeError('fetch failed', { cause: new Error('other side closed') })); });
    });
    req.end(body ?? undefined);
  });
};
