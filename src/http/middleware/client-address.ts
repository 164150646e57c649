import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { AppEnv } from '../context.js';
import { clientAddress, type TrustedProxies } from '../../infra/client-address.js';

/** The caller's address for limits and the audit log: the TCP peer, or behind trusted proxies the rightmost address they did not add. */
export function requestAddress(c: Context<AppEnv>, trusted: TrustedProxies | undefined): string {
  let peer: string | undefined;
  try { peer = getConnInfo(c).remote.address; } catch { peer = undefined; }
  return clientAddress(peer, c.req.header('x-forwarded-for'), trusted);
}
