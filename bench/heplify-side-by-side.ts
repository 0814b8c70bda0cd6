/**
 * The capture anchor side by side: heplify-server (HOMER's collector, built from its own source by
 * bench/support/build-heplify.sh, or passed with --heplify) with its cheapest output (no database: decode + Prometheus
 * counters only) against tollgate's collector writing to Kafka, on the same load, rates and machine, interleaved in
 * one run (bench/support/capture-sides.ts). Per side and rate: CPU µs per packet, packets per CPU second (per core),
 * total rate, loss, and the highest zero-loss rate.
 * Run: npx tsx bench/heplify-side-by-side.ts --transport udp --rates 20000,40000 --duration 10 --rounds 3 [--heplify <binary>]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ensureLocalStack } from '../test/support/stack.ts';
import { AFTER, HEPLIFY, HEPLIFY_HINT, heplifyBinary, runSides } from './support/capture-sides.ts';

const { values } = parseArgs({ options: {
  heplify: { type: 'string' }, transport: { type: 'string', default: 'udp' }, rates: { type: 'string', default: '20000,40000,60000' },
  duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '1' },
} });
const heplify = heplifyBinary(values.heplify);
if (heplify === undefined) {
  process.stderr.write(`${HEPLIFY_HINT}\n`);
  process.exit(2);
}
const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const rates = values.rates!.split(',').map(Number);
console.log(`heplify-server vs tollgate: ${values.transport}, rates ${rates.join(', ')}/s, ${values.duration} s windows, ${values.rounds} interleaved rounds; `
  + `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
try {
  await runSides([HEPLIFY, AFTER], rates, Number(values.rounds), {
    admin, kafkaBrokers, transport: values.transport!, seconds: Number(values.duration), connections: Number(values.connections), heplify,
  });
} finally {
  await admin.disconnect();
}
