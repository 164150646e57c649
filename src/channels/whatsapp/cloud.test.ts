import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { sendCloudText, GRAPH_VERSION } from './cloud.js';
import type { CloudConfig } from './config.js';
import { freePort } from '../../../test/helpers/ports.js';

const TOKEN = 'EAAG-cloud-send-token';
const servers: Server[] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r)))); });

async function graph(answer: (body: any, headers: Record<string, string | string[] | undefined>) => { status: number; body: unknown; headers?: Record<string, string> }) {
  const seen: { url: string; body: any; headers: Record<string, string | string[] | undefined> }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      const body = JSON.parse(raw);
      seen.push({ url: req.url!, body, headers: req.headers });
      const a = answer(body, req.headers);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const cfg: CloudConfig = { provider: 'cloud', token: TOKEN, phoneNumberId: '106540352242922', appSecret: 's', verifyToken: null, graphUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
  return { cfg, seen };
}

describe('WhatsApp Cloud sends (over node:http, infra/node-fetch.ts)', () => {
  it('posts the message with the bearer token and returns the wamid', async () => {
    const { cfg, seen } = await graph(() => ({ status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: '5511', wa_id: '5511' }], messages: [{ id: 'wamid.HBgLNTUx' }] } }));
    await expect(sendCloudText(cfg, '5511987654321', 'Olá')).resolves.toEqual({ providerMessageId: 'wamid.HBgLNTUx' });
    expect(seen[0]!.url).toBe(`/${GRAPH_VERSION}/106540352242922/messages`);
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen[0]!.body).toMatchObject({ messaging_product: 'whatsapp', to: '5511987654321', type: 'text', text: { body: 'Olá' } });
  });

  it('retries a rate limit after the wait Graph names, and gives up on a final refusal', async () => {
    const limited = await graph(() => ({ status: 429, headers: { 'retry-after': '7' }, body: { error: { message: '(#130429) Rate limit hit', code: 130429 } } }));
    await expect(sendCloudText(limited.cfg, '5511', 'x')).rejects.toMatchObject({ retryable: true, retryAfterMs: 7000, code: 130429 });
    const outside = await graph(() => ({ status: 400, body: { error: { message: 'Re-engagement message', code: 131047, error_data: { details: 'more than 24 hours' } } } }));
    await expect(sendCloudText(outside.cfg, '5511', 'x')).rejects.toMatchObject({ retryable: false, code: 131047, message: 'Re-engagement message — more than 24 hours' });
  });

  it('reports an unreachable Graph API as a retryable network error that names neither the URL nor the token', async () => {
    const port = await freePort();
    const cfg: CloudConfig = { provider: 'cloud', token: TOKEN, phoneNumberId: '1', appSecret: 's', verifyToken: null, graphUrl: `http://127.0.0.1:${port}` };
    const err = await sendCloudText(cfg, '5511', 'x').then(() => undefined, (e: Error & { retryable?: boolean }) => e);
    expect(err).toMatchObject({ retryable: true, message: 'network error: could not reach the WhatsApp Cloud API (ECONNREFUSED)' });
    expect(JSON.stringify({ m: err!.message, s: err!.stack })).not.toContain(TOKEN);
  });
});
