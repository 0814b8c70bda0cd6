/**
 * HEP load generator: a realistic SIP mix (INVITE dialogs, REGISTER with challenge, OPTIONS; a quarter IPv6;
 * 300-1500 bytes) as HEPv3 over UDP or TCP at a fixed rate for a fixed time. Prints one JSON line with what it sent.
 * Run: npx tsx bench/hep-load.ts --transport udp --rate 20000 --duration 20 --port 9060 [--host 127.0.0.1]
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { sipMix } from '../test/support/hep-sender.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rate: { type: 'string', default: '10000' },
  duration: { type: 'string', default: '20' }, host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '9060' },
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
  const s = net.connect({ host, port, noDelay: false });
  await new Promise((r) => s.once('connect', r));
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / TICK_MS) * perTick) + Math.ceil(perTick));
    const batch: Buffer[] = [];
    while (sent < due) {
      const b = pool[sent % pool.length]!;
      batch.push(b);
      sent++;
      bytes += b.length;
    }
    if (batch.length > 0 && !s.write(Buffer.concat(batch))) await new Promise((r) => s.once('drain', r));
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await new Promise<void>((r) => s.end(r));
}

await (values.transport === 'tcp' ? tcp() : udp());
const secs = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ transport: values.transport, sent, bytes, seconds: Number(secs.toFixed(2)), achievedRate: Math.round(sent / secs) })}\n`);
