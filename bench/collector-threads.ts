/**
 * Where a collector's CPU goes by thread: the production entry point (one process) under bench/hep-load.ts for one
 * window, utime+stime of every thread from /proc/<pid>/task before and after, per packet sent. The main thread runs
 * the JS and the native receive; the other `node` threads are V8's platform workers (parallel scavenge, concurrent
 * marking). A V8 profile sees only the main thread's JS, and counts the native half of a datagram's receive as idle.
 *
 * Run: npx tsx bench/collector-threads.ts [--transport udp] [--rate 20000] [--seconds 10] [--node-args '--v8-pool-size=1']
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { ensureLocalStack } from '../test/support/stack.ts';
import { runLoad, startCollector } from './support/collector-process.ts';

const { values } = parseArgs({ options: {
  transport: { type: 'string', default: 'udp' }, rate: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '10' },
  'node-args': { type: 'string', default: '' },
} });
const { kafkaBrokers } = await ensureLocalStack();
const admin = new Kafka({ clientId: 'tollgate-bench', brokers: kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const c = await startCollector(kafkaBrokers, 'threads', { BENCH_COLLECTOR_NODE_ARGS: values['node-args']! });
const pid = c.pids[0]!;

function threads(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      const name = `${st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'))}${t === String(pid) ? ' (main)' : ` ${t}`}`;
      m.set(name, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return m;
}

try {
  await new Promise((r) => setTimeout(r, 2_000));
  const before = threads();
  const sent = await runLoad({ transport: values.transport!, rate: Number(values.rate), seconds: Number(values.seconds), port: c.hepPort, connections: 1 }).done;
  await new Promise((r) => setTimeout(r, 3_000)); // the publisher's drain
  const after = threads();
  let total = 0;
  console.log(`collector threads: ${values.transport} ${values.rate}/s for ${values.seconds} s, ${sent.sent} packets sent; node args '${values['node-args']}'`);
  for (const [name, cpu] of after) {
    const d = cpu - (before.get(name) ?? 0);
    total += d;
    if (d > 0) console.log(`  ${name.padEnd(20)} ${d.toFixed(2).padStart(6)} s  ${((d * 1e6) / sent.sent).toFixed(2).padStart(6)} µs/packet`);
  }
  console.log(`  ${'all threads'.padEnd(20)} ${total.toFixed(2).padStart(6)} s  ${((total * 1e6) / sent.sent).toFixed(2).padStart(6)} µs/packet`);
} finally {
  await c.stop(admin);
  await admin.disconnect();
}
