/** Free TCP ports on loopback for configs that must name a port before start (tests and chaos scenarios). */
import net from 'node:net';

/** Ports {@link freePort} handed out in this process: the kernel may give a just-closed port again at once. */
const handedOut = new Set<number>();

/**
 * A TCP port free right now on 127.0.0.1 (for configs that must name a port before start), never one this
 * process was already given: two calls in a row once returned the same port, and a config naming it twice was
 * refused ("endpoint ... is already used by ...").
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
