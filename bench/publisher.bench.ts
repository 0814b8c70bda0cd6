/**
 * Publisher throughput into the local stack Kafka: 500-byte values over 2,000 keys, compression none vs gzip,
 * median of 3 runs each. Time runs from the first offer to `close()` returning (everything acknowledged, acks=all).
 * Bytes are the partition log sizes on the broker's disk, which hold the record batches as the producer sent
 * them (the topics use compression.type=producer), so they stand for the bytes on the wire minus request framing.
 *
 * Run: npx tsx bench/publisher.bench.ts [records per run, default 200000]
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { localStackParts } from '../scripts/stack/index.ts';
import { KafkaPublisher, KafkaRecordProducer } from '../services/collector/publish/index.ts';
import type { CaptureRecord, Compression } from '../services/collector/publish/index.ts';
import { createKafka } from '../services/shared/kafka/client.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const RECORDS = Number(process.argv[2] ?? 200_000);
const KEYS = 2_000;
const VALUE_BYTES = 500;
const RUNS = 3;
const log = pino({ level: 'silent' });

/** SIP-like text, so gzip sees realistic redundancy rather than random bytes or one repeated letter. */
function value(i: number): Buffer {
  const sip = `INVITE sip:+4930${(1_000_000 + (i % 9_000_000)).toString()}@carrier.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.${i % 250}:5060;branch=z9hG4bK${i.toString(36)}\r\nFrom: <sip:alice@tenant${i % 40}.example>;tag=${(i * 7919).toString(36)}\r\nTo: <sip:bob@carrier.example>\r\nCall-ID: ${i % KEYS}-bench@tollgate\r\nCSeq: ${i} INVITE\r\nContact: <sip:alice@192.0.2.${i % 250}:5060>\r\nContent-Length: 0\r\n\r\n`;
  const buf = Buffer.alloc(VALUE_BYTES, 0x20);
  buf.write(sip.slice(0, VALUE_BYTES), 'latin1');
  return buf;
}

async function topicBytes(dataDir: string, topic: string): Promise<number | undefined> {
  try {
    let total = 0;
    for (const d of (await readdir(dataDir)).filter((n) => n.startsWith(`${topic}-`))) {
      for (const f of (await readdir(join(dataDir, d))).filter((n) => n.endsWith('.log'))) total += (await stat(join(dataDir, d, f))).size;
    }
    return total;
  } catch {
    return undefined;
  }
}

async function run(brokers: string[], admin: ReturnType<Kafka['admin']>, compression: Compression, values: Buffer[]): Promise<{ rps: number; topic: string }> {
  const topic = uniqueName(`bench_pub_${compression}`);
  await admin.createTopics({ topics: [{ topic, numPartitions: 6, configEntries: [{ name: 'compression.type', value: 'producer' }] }], waitForLeaders: true });
  const producer = new KafkaRecordProducer({ kafka: createKafka({ brokers, clientId: 'tollgate-bench', log }), compression, log });
  const p = new KafkaPublisher({ producer, log, maxQueueRecords: 50_000, closeTimeoutMs: 120_000 });
  await p.start();
  const keys = Array.from({ length: KEYS }, (_, k) => Buffer.from(`${k}-bench@tollgate`));
  const started = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) {
    const r: CaptureRecord = { topic, key: keys[i % KEYS]!, value: values[i % values.length]!, headers: { node: 'bench', type: 'sip' }, receivedAtNs: process.hrtime.bigint() };
    // Offer as fast as the queue takes it: the measure is the Kafka side, not a drop count.
    while (p.offer(r) === 'dropped') await tick();
    if (i % 1_000 === 0) await tick();
  }
  await p.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const s = p.stats();
  if (s.acked + s.droppedTotal !== s.offered || s.acked !== RECORDS) throw new Error(`unexpected outcome ${JSON.stringify(s)}`);
  return { rps: RECORDS / seconds, topic };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { kafkaBrokers } = await ensureLocalStack();
  const dataDir = join(localStackParts(process.env).runDir, 'kafka', 'data');
  const kafka = new Kafka({ clientId: 'tollgate-bench-admin', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const values = Array.from({ length: 1_024 }, (_, i) => value(i));
  const created: string[] = [];
  process.stdout.write(`publisher bench: ${RECORDS} records x ${VALUE_BYTES} B values, ${KEYS} keys, 6 partitions, acks=all, idempotent, ${RUNS} runs each\n`);
  try {
    for (const compression of ['none', 'gzip'] as const) {
      const rates: number[] = [];
      const sizes: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await run(kafkaBrokers, admin, compression, values);
        created.push(r.topic);
        rates.push(r.rps);
        // The broker appends asynchronously to the page cache; the file sizes are final once the acks are in.
        const bytes = await topicBytes(dataDir, r.topic);
        if (bytes !== undefined) sizes.push(bytes);
      }
      const bytes = sizes.length > 0 ? median(sizes) : undefined;
      process.stdout.write(
        `${compression.padEnd(5)} median ${Math.round(median(rates)).toLocaleString('en-US')} records/s (runs: ${rates.map((x) => Math.round(x)).join(', ')})` +
          (bytes === undefined ? '; log bytes n/a (external broker)\n' : `; log bytes ${(bytes / 1024 ** 2).toFixed(1)} MiB = ${(bytes / RECORDS).toFixed(0)} B/record\n`),
      );
    }
  } finally {
    await admin.deleteTopics({ topics: created, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  }
}

await main();
