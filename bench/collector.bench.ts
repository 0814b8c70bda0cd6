/**
 * Collector capture rate and CPU per packet, end to end: the production entry point (services/collector/main.ts)
 * into the local stack's Kafka, bench/hep-load.ts sending the SIP mix from its own process, one window per rate,
 * side and round, sides interleaved (bench/support/capture-sides.ts says what is measured). Sides:
 *   - tollgate before: HEP_DECODE=full PUBLISH_HEADERS=minimal (the collector as it was, kept selectable);
 *   - tollgate now: the defaults;
 *   - tollgate now with N processes on one port (--processes 2, as `npm start` runs it);
 *   - heplify-server, decode only, when its binary is found (bench/support/build-heplify.sh) or passed (--heplify).
 * The robust figure on a shared box is CPU µs per packet (kernel accounting); per core = packets ÷ CPU seconds.
 *
 *   - base: the production entry point of another checkout (`--base <dir>`, e.g. main unpacked with
 *     `git archive main | tar -x -C <dir>` and node_modules linked in), with its defaults: before/after in one run;
 *   - `NAME=value[+NAME=value...]`: tollgate now with these collector settings (an old path kept selectable).
 * Run: npx tsx bench/collector.bench.ts --transport tcp --rates 40000,60000 --duration 10 --rounds 3 [--processes 2]
 *      [--connections 2] [--sides before,now,procs,heplify,base,HEP_ENVELOPE_SLAB=0] [--base <dir>] [--heplify <binary>]
 * Extra collector settings come from the environment (they apply to every tollgate side but `before`'s own two).
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ensureLocalStack } from '../test/support/stack.ts';
import { AFTER, afterProcesses, BEFORE, HEPLIFY, HEPLIFY_HINT, heplifyBinary, runSides, type Side } from './support/capture-sides.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'tcp' }, rates: { type: 'string', default: '20000,40000,60000' },
  duration: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' }, processes: { type: 'string', default: '2' },
  connections: { type: 'string', default: '1' }, sides: { type: 'string', default: 'before,now,heplify' }, heplify: { type: 'string' },
  base: { type: 'string' },
} });
const heplify = heplifyBinary(values.heplify);
const sides: Side[] = [];
for (const s of values.sides!.split(',')) {
  if (s === 'before') sides.push(BEFORE);
  else if (s === 'now') sides.push(AFTER);
  else if (s === 'procs') sides.push(afterProcesses(Number(values.processes)));
  else if (s === 'base') {
    if (values.base === undefined) throw new Error('side base needs --base <dir> (a checkout with node_modules)');
    sides.push({ name: 'base checkout (defaults)', kind: 'tollgate', env: {}, cwd: values.base });
  } else if (s.includes('=')) {
    sides.push({ name: `tollgate now, ${s.replaceAll('+', ' ')}`, kind: 'tollgate', env: Object.fromEntries(s.split('+').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) });
  } else if (s === 'heplify') {
    if (heplify === undefined) console.log(`${HEPLIFY_HINT} Running without it.`);
    else sides.push(HEPLIFY);
  } else throw new Error(`unknown side ${s}: before, now, procs, heplify, base or NAME=value`);
}
const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const rates = values.rates!.split(',').map(Number);
console.log(`collector bench: ${values.transport} (${values.connections} connection(s) for tcp), rates ${rates.join(', ')}/s, ${values.duration} s windows, `
  + `${values.rounds} interleaved rounds; sides: ${sides.map((s) => s.name).join(' | ')}; node ${process.version}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
try {
  await runSides(sides, rates, Number(values.rounds), {
    admin, kafkaBrokers, transport: values.transport!, seconds: Number(values.duration), connections: Number(values.connections), heplify,
  });
} finally {
  await admin.disconnect();
}
