/**
 * HEP load generator: a realistic SIP mix (INVITE dialogs, REGISTER with challenge, OPTIONS; a quarter IPv6;
 * 300-1500 bytes) as HEPv3 over UDP or TCP at a fixed rate for a fixed time. Prints one JSON line with what it sent.
 * Run: npx tsx bench/hep-load.ts --transport udp --rate 20000 --duration 20 --port 9060 [--host 127.0.0.1] [--connections 1]
 * (--connections: TCP connections the rate is spread over, each tick's packets dealt round-robin.)
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { sipMix } from '../test/support/hep-sender.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rate: { type: 'string', default: '10000' },
  duration: { type: 'string', default: '20' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '9060' },
  connections: { type: 'string', default: '1' },
} });
const rate = Number(values.rate);
const duration = Number(values.duration);
const total = Math.round(rate * duration);
const pool = sipMix(4000, 42).map((m) => m.bytes);
const host = values.host!;
const port = Number(values.port);
const TICK_MS = 5;
const perTick = rate * TICK_MS / 1000;

let sent = 0;
let bytes = 0;
const t0 = performance.now();

async function udp(): Promise<void> {
  const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.connect(port, host);
  await new Promise((r) => s.once('connect', r));
  let inFlight = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / TICK_MS) * perTick) + Math.ceil(perTick));
    while (sent < due) {
      const b = pool[sent % pool.length]!;
      inFlight++;
      s.send(b, () => { inFlight--; });
      sent++;
      bytes += b.length;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  s.close();
}

async function tcp(): Promise<void> {
  const n = Math.max(1, Number(values.connections));
  const sockets = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect({ host, port, noDelay: false });
    s.once('connect', () => resolve(s));
  })));
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / TICK_MS) * perTick) + Math.ceil(perTick));
    const batches: Buffer[][] = sockets.map(() => []);
    for (let k = 0; sent < due; k++) {
      const b = pool[sent % pool.length]!;
      batches[k % n]!.push(b);
      sent++;
      bytes += b.length;
    }
    const waits: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i++) {
      const s = sockets[i]!;
      if (batches[i]!.length > 0 && !s.write(Buffer.concat(batches[i]!))) waits.push(new Promise((r) => s.once('drain', r)));
    }
    if (waits.length > 0) await Promise.all(waits);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.end(r))));
}

await (values.transport === 'tcp' ? tcp() : udp());
const secs = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ transport: values.transport, sent, bytes, seconds: Number(secs.toFixed(2)), achievedRate: Math.round(sent / secs) })}\n`);
