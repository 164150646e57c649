import type { DirectSend, Store } from '../domain/ports.js';
import { SendError } from '../domain/ports.js';

/**
 * Sends a message outside a reply (link code, approval notice, test message) and records it, sent
 * or refused, so its delivery receipts are kept and it is listed with the other outbound messages.
 * `d.text` is what is kept, which may be a masked form of what `send` sends.
 */
export async function sendRecorded(
  store: Store, now: () => string, d: Omit<DirectSend, 'status' | 'providerMessageId' | 'lastError'>,
  send: () => Promise<{ providerMessageId: string | null }>,
): Promise<{ providerMessageId: string | null }> {
  const record = (status: DirectSend['status'], providerMessageId: string | null, lastError: string | null) =>
    store.inbox.recordDirect({ ...d, status, providerMessageId, lastError }, now());
  let r: { providerMessageId: string | null };
  try {
    r = await send();
  } catch (err) {
    await record(err instanceof SendError && !err.retryable ? 'undelivered' : 'failed', null, (err as Error)?.message ?? String(err)).catch(() => {});
    throw err;
  }
  await record('sent', r.providerMessageId, null);
  return r;
}
