/** Loopback ports for the processes tests start. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * The lines of /proc/net/udp and udp6 (Linux) for sockets bound to UDP `port`, split into fields (`[1]` is the
 * local address, the last field the kernel's drop count).
 */
export function udpSockets(port: number): string[][] {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found: string[][] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hex)) found.push(fields);
    }
  }
  return found;
}

/** Whether some socket of this machine is bound to UDP `port`. */
export function udpBound(port: number): boolean {
  return udpSockets(port).length > 0;
}

/**
 * Waits until a process we started has bound its UDP port (sipp as UAS, say): a fixed pause before the first
 * request reaches it is a guess that a busy machine can beat.
 */
export async function waitUdpBound(port: number, child: ChildProcess, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!udpBound(port)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before binding UDP ${port}`);
    if (Date.now() > end) throw new Error(`${what} did not bind UDP ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
