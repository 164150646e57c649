/**
 * A port that was free a moment ago: for servers that must know their public URL before listening or
 * listen again on the same port after a restart, and for an address where nothing listens. It is
 * picked below Linux's ephemeral range (32768–60999 by default), which `listen(0)` and outgoing
 * connections draw from: the parallel test workers open sockets all the time, and one of them could
 * otherwise be given this port before the server binds it.
 */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}
