/**
 * `npm run import` speed on a large capture, with memory sampled all along: a pcap of N calls (INVITE … BYE, 7
 * messages each, Ethernet/IPv4/UDP, ~500-byte messages) is written to a temp file, then imported twice in this
 * process: into a sink that drops the records (the importer alone: read, decode, correlate, build records) and
 * into the local Kafka (a fresh topic prefix). Prints messages/s and RSS at 10%, 50% and 100% of the file.
 *
 *   npx tsx bench/import.bench.ts --calls 30000
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { importCapture } from '../services/importer/import.ts';
import { KafkaRecordProducer } from '../services/shared/kafka/kafkajs-producer.ts';
import { ensureTopics, topicCatalogue } from '../services/shared/kafka/topics.ts';
import { callScenario } from '../test/support/sip-scenarios.ts';
import { frame, ipv4, pcapFile, udp, type Pkt } from '../test/support/pcap.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const CALLS = arg('calls', 30_000);

function capture(): { file: string; messages: number; dir: string } {
  const pkts: Pkt[] = [];
  const t0 = Date.UTC(2024, 0, 1) * 1000;
  for (let i = 0; i < CALLS; i++) {
    const sc = callScenario('answered', `bench-${i}-0000000000@host`, t0 + i * 20_000, { user: `u${i % 500}`, domain: 'a.example' }, { user: 'b', domain: 'b.example' }, 30_000_000);
    for (const p of sc.packets) {
      const e = p.fromUa ? { src: '192.0.2.10', dst: '198.51.100.1', sport: 5060, dport: 5060 } : { src: '198.51.100.1', dst: '192.0.2.10', sport: 5060, dport: 5060 };
      pkts.push({ tsUs: p.tsUs, link: 1, data: frame('ethernet', ipv4(e, udp(e, Buffer.from(p.text)), i & 0xffff)[0]!) });
    }
  }
  pkts.sort((a, b) => a.tsUs - b.tsUs);
  const dir = mkdtempSync(join(tmpdir(), 'tg-import-bench-'));
  const file = join(dir, 'bench.pcap');
  writeFileSync(file, pcapFile(pkts));
  return { file, messages: pkts.length, dir };
}

async function run(label: string, file: string, send: (b: readonly unknown[]) => Promise<void>, prefix: string): Promise<void> {
  const rss: Array<[number, number]> = [];
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const s = await importCapture({
    path: file, topicPrefix: prefix, send: send as never, progressEveryMs: 200,
    onProgress: (p) => rss.push([p.bytesRead / p.totalBytes, process.memoryUsage().rss]),
  });
  const at = (f: number) => (rss.find(([x]) => x >= f)?.[1] ?? rss[rss.length - 1]![1]) / 1048576;
  const peak = Math.max(...rss.map(([, r]) => r)) / 1048576;
  process.stdout.write(`${label}: ${s.published.toLocaleString('en-US')} messages (${s.calls.toLocaleString('en-US')} calls) in ${s.seconds.toFixed(2)} s = `
    + `${Math.round(s.messagesPerSecond).toLocaleString('en-US')} messages/s; RSS MiB before ${(rss0 / 1048576).toFixed(0)}, at 10% ${at(0.1).toFixed(0)}, `
    + `50% ${at(0.5).toFixed(0)}, 100% ${at(1).toFixed(0)}, peak ${peak.toFixed(0)}\n`);
}

const { file, messages, dir } = capture();
process.stdout.write(`capture: ${CALLS.toLocaleString('en-US')} calls, ${messages.toLocaleString('en-US')} SIP messages\n`);
try {
  await run('importer alone (records dropped)', file, async () => {}, 'bench.');
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const kafka = new Kafka({ clientId: 'import-bench', brokers, logLevel: logLevel.NOTHING });
  const prefix = `impbench${Date.now()}.`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicCatalogue(prefix, 6, 3_600_000));
  const producer = new KafkaRecordProducer({ kafka, sendTimeoutMs: 30_000 });
  await producer.connect();
  try {
    await run('importer → local Kafka', file, (b) => producer.send(b as never), prefix);
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: topicCatalogue(prefix, 6, 0).map((t) => t.name) }).catch(() => undefined);
    await admin.disconnect();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
