/**
 * Which address a request really came from, behind reverse proxies we trust.
 *
 * Each proxy appends the address it received the request from to `X-Forwarded-For`; whatever a
 * client sent in that header comes first and is its own choice. So the client is found from the
 * right: skip the hops added by trusted proxies (a number of them, or any entry in a list of
 * addresses and CIDR ranges), and the first address left is the one a trusted proxy saw.
 */
import { BlockList, isIP } from 'node:net';

export type TrustedProxies = { hops: number } | { list: BlockList; text: string[] };

/** Parses SWITCHBOARD_TRUSTED_PROXIES: a hop count ("1"), or addresses and CIDRs ("127.0.0.1, 10.0.0.0/8, ::1"). */
export function parseTrustedProxies(raw: string): TrustedProxies | { error: string } {
  const v = raw.trim();
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return hops <= 10 ? { hops } : { error: 'a hop count must be 0–10' };
  }
  const list = new BlockList();
  const text: string[] = [];
  for (const entry of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr, bits, extra] = entry.split('/');
    const family = isIP(addr ?? '');
    if (!family || extra !== undefined) return { error: `"${entry}" is not an IP address or CIDR range` };
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else {
      const n = Number(bits);
      if (!/^\d+$/.test(bits) || n > (family === 6 ? 128 : 32)) return { error: `"${entry}" has an invalid prefix length` };
      list.addSubnet(addr!, n, type);
    }
    text.push(entry);
  }
  return text.length ? { list, text } : { error: 'must be a number of hops or a list of addresses/CIDRs' };
}

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4) compared as the IPv4 address it is. */
const plain = (a: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a);

function trusted(t: TrustedProxies, addr: string): boolean {
  if (!('list' in t)) return false;
  const a = plain(addr);
  const family = isIP(a);
  return !!family && t.list.check(a, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client address: the TCP peer when no proxy is trusted; else the rightmost address in
 * `X-Forwarded-For` (with the peer at its end) that a trusted proxy did not add.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, t: TrustedProxies | undefined): string {
  const remote = peer ? plain(peer) : 'unknown';
  if (!t || ('hops' in t && t.hops === 0) || !forwardedFor) return remote;
  const chain = [...forwardedFor.split(',').map((s) => plain(s.trim())), remote];
  if ('hops' in t) {
    // The last `hops` entries are the proxies themselves; the one before them is who the outermost proxy saw.
    const i = chain.length - 1 - t.hops;
    const a = chain[Math.max(0, i)]!;
    return isIP(a) ? a : remote;
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    const a = chain[i]!;
    if (!isIP(a)) return chain[i + 1] ?? remote; // garbage from the client's side of the chain: the last proxy's word stands
    if (!trusted(t, a)) return a;
  }
  return chain[0]!; // every hop is a trusted proxy: the request started at one of them
}
