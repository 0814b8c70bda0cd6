/** Loopback ports for the processes tests start. */
import net from 'node:net';

/**
 * A TCP port the OS just handed out and released. A random pick in the ephemeral range can collide with a port a
 * client socket holds (the suite runs many in parallel), and a listener then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
