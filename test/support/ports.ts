/** Loopback ports for the processes tests start. */
import net from 'node:net';

/** Ports this process handed out: a harness picks two (SIP and RPC, say) before the process it starts binds either. */
const handedOut = new Set<number>();

/**
 * A TCP port the OS just handed out and released. A random pick in the ephemeral range can collide with a port a
 * client socket holds (the suite runs many in parallel), and a listener then fails with EADDRINUSE. The OS may hand
 * the same free port out twice in a row, so a port already given to this process is not given again.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
