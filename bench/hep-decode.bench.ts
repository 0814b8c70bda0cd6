/**
 * Micro-benchmark of the HEP wire layer against hep-js on the reference input: a 448-byte SIP INVITE HEPv3 packet.
 * Method: warm up, then several timed runs of a fixed number of calls each; report the median packets/s per
 * implementation, single core, same process. A sink keeps results alive so the JIT cannot drop the work.
 * Second part: the collector's intake (decode + route + envelope, no I/O) on the load generator's SIP mix, HEP_DECODE=lazy
 * against HEP_DECODE=full and the lazy path without the envelope slab (HEP_ENVELOPE_SLAB=0), interleaved rounds, CPU µs per packet of this process (process.cpuUsage), median and ratio.
 * Run: npx tsx bench/hep-decode.bench.ts
 */
import hepJs from 'hep-js';
import { decodeHep, encodeHep } from '../services/shared/hep/index.ts';
import { hepJsInvite } from '../test/unit/hep/fixtures.ts';
import { Intake } from '../services/collector/intake.ts';
import { senderFromSocket } from '../services/shared/hep/index.ts';
import { sipMix } from '../test/support/hep-sender.ts';

const RUNS = 7;
const CALLS = 200_000;

let sink = 0;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function measure(name: string, fn: () => number): number {
  for (let i = 0; i < 50_000; i++) sink += fn();
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink += fn();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(CALLS / (ns / 1e9));
  }
  const m = median(rates);
  console.log(`${name.padEnd(28)} ${Math.round(m).toLocaleString('en-US').padStart(12)} packets/s  (median of ${RUNS} x ${CALLS})`);
  return m;
}

const wire = hepJsInvite(448);
const decoded = decodeHep(wire);
const payloadText = decoded.payload.toString('latin1');
const rcinfo = {
  protocolFamily: 2,
  protocol: decoded.protocol,
  srcIp: decoded.srcIp,
  dstIp: decoded.dstIp,
  srcPort: decoded.srcPort,
  dstPort: decoded.dstPort,
  timeSeconds: decoded.timestampSec,
  timeUseconds: decoded.timestampUsec,
  payloadType: decoded.payloadType,
  captureId: decoded.captureId,
  hepNodeName: decoded.nodeName ?? '',
};

console.log(`node ${process.version}, input ${wire.length} bytes (SIP INVITE, HEPv3)\n`);
const hjDec = measure('decode hep-js decapsulate', () => {
  const r = hepJs.decapsulate(wire);
  return r ? 1 : 0;
});
const ourDec = measure('decode tollgate decodeHep', () => decodeHep(wire).srcPort);
// hep-js also turns the payload into a string; this line prices that in for a like-for-like figure.
const ourDecStr = measure('decode decodeHep + utf8 text', () => decodeHep(wire).payload.toString('utf8').length);
console.log(`decode ratio ours / hep-js: ${(ourDec / hjDec).toFixed(1)}x (with payload text ${(ourDecStr / hjDec).toFixed(1)}x)\n`);

const hjEnc = measure('encode hep-js encapsulate', () => hepJs.encapsulate(payloadText, rcinfo).length);
const ourEnc = measure('encode tollgate encodeHep', () => encodeHep(decoded).length);
console.log(`encode ratio ours / hep-js: ${(ourEnc / hjEnc).toFixed(1)}x`);

// The collector's intake, lazy vs full, on the load generator's mix (a quarter IPv6, 300-1500 B).
const mix = sipMix(4000, 42).map((m) => m.bytes);
const from = Intake.sender('127.0.0.1', 40000, senderFromSocket('127.0.0.1', 40000)!, true);
// `lazy, no slab` is the lazy path before the envelope slab (HEP_ENVELOPE_SLAB=0).
const intakes: Record<string, Intake> = {
  full: new Intake({ topicPrefix: 'b.', headers: 'minimal', decode: 'full' }),
  'lazy, no slab': new Intake({ topicPrefix: 'b.', headers: 'minimal', decode: 'lazy', envelopeSlabBytes: 0 }),
  lazy: new Intake({ topicPrefix: 'b.', headers: 'minimal', decode: 'lazy' }),
};
const PACKETS = 200_000;
function intakeRound(mode: string): number {
  const intake = intakes[mode]!;
  const c0 = process.cpuUsage();
  const hr = process.hrtime.bigint();
  for (let i = 0; i < PACKETS; i++) {
    const r = intake.process(mix[i % mix.length]!, from, hr, 'udp');
    if (typeof r !== 'string') sink += r.value.length;
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / PACKETS;
}
const modes = Object.keys(intakes);
const per: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
for (let r = 0; r < 2; r++) for (const m of modes) intakeRound(m);
for (let r = 0; r < 15; r++) for (const m of r % 2 === 0 ? modes : [...modes].reverse()) per[m]!.push(intakeRound(m));
const fullUs = median(per['full']!);
console.log(`\nintake (decode + route + envelope), ${mix.length} packets of the load mix, 15 interleaved rounds x ${PACKETS}, CPU µs/packet (median):`);
for (const m of modes) {
  const us = median(per[m]!);
  console.log(`  HEP_DECODE=${m.padEnd(14)} ${us.toFixed(3)}   full / this ${(fullUs / us).toFixed(2)}x`);
}
if (sink === -1) console.log(sink);
