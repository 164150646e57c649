import { AppError } from '../domain/errors.js';
import { SendError } from '../domain/ports.js';
import { networkFailure } from './failures.js';

/** A download refused for its size: the person is told this message (413 media_too_large, as an upload would be). */
export const fileTooLarge = (maxBytes: number) =>
  new AppError(413, 'media_too_large', `The file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB; voice notes and photos must be smaller.`);

/**
 * Fetches a file a person sent from the platform that holds it, bounded: refused before reading when
 * the declared length is over `maxBytes`, cut off (and refused) the moment the body grows past it,
 * and abandoned after `timeoutMs`. `headers` (a bearer token, basic auth) go to `url` only: a redirect
 * is followed by hand, without them, and only when `followRedirect` allows (Twilio answers its media
 * URL with a redirect to a signed CDN address that needs no credentials). Failures are SendErrors
 * (retryable unless the platform refused the file) that never name the URL, which may carry a token.
 */
export async function boundedDownload(platform: string, url: string, o: { headers?: Record<string, string>; maxBytes: number; timeoutMs: number; followRedirect?: boolean }): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(o.timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers: o.headers, redirect: 'manual', signal });
    if (res.status >= 300 && res.status < 400 && o.followRedirect) {
      const next = res.headers.get('location');
      await res.body?.cancel().catch(() => {});
      if (!next) throw new SendError(`${platform} answered a redirect without a location`, false);
      const target = new URL(next, url);
      if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new SendError(`${platform} redirected the download to an unsupported address`, false);
      res = await fetch(target, { redirect: 'error', signal }); // the credentials stay with the first host
    }
  } catch (err) {
    if (err instanceof SendError) throw err;
    throw networkFailure(platform, err);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    // Gone or refused for good (404, 403, 410) is final; an outage or a rate limit is tried again.
    throw new SendError(`${platform} refused the file download (HTTP ${res.status})`, res.status === 429 || res.status >= 500, undefined, res.status);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > o.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw fileTooLarge(o.maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = res.body?.getReader();
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > o.maxBytes) {
        await reader.cancel().catch(() => {});
        throw fileTooLarge(o.maxBytes);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw networkFailure(platform, err);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
