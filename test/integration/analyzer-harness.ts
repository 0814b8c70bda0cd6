/**
 * Shared set-up of the analyzer integration tests: a random ClickHouse database (migrated) and a random topic
 * prefix on the local stack, a producer of capture envelopes, the analyzer in-process or as a child process,
 * and helpers that wait for the consumer group to catch up. Cleanup drops what it created.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import type { QuarantineEvent, SipEvent } from '../../services/analyzer/events.ts';
import { buildAnalyzer } from '../../services/analyzer/service.ts';
import { analyzerSettings } from '../../services/analyzer/settings.ts';
import { createClickhouseStore, type SqlStore } from '../../services/shared/clickhouse/client.ts';
import { migrate } from '../../services/shared/clickhouse/migrations.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { readEventRecord } from '../../services/guard/event-records.ts';
import { ensureTopics, topicCatalogue, topicName, type TopicKey } from '../../services/shared/kafka/topics.ts';
import { freePort } from '../support/ports.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';
import { captureOutput, testLogger } from '../support/test-output.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PARTITIONS = 3;
const OUTPUT_TAIL = 8_000;

export interface Outgoing {
  readonly key: string;
  readonly value: Buffer | null;
  readonly partition?: number;
}

export class AnalyzerEnv {
  readonly database = uniqueName('tg_an');
  readonly prefix = `${uniqueName('an')}.`;
  readonly groupId = uniqueName('analyzer');
  kafkaBrokers: string[] = [];
  clickhouseUrl = '';
  store!: SqlStore;
  #admin!: SqlStore;
  kafka!: Kafka;
  kadmin!: Admin;
  producer!: Producer;

  /** `clickhouseUrl`: a test's own ClickHouse endpoint (one it may stop) instead of the shared one. */
  async setup(opts: { clickhouseUrl?: string } = {}): Promise<void> {
    const stack = await ensureLocalStack();
    this.kafkaBrokers = stack.kafkaBrokers;
    this.clickhouseUrl = opts.clickhouseUrl ?? stack.clickhouseUrl;
    this.#admin = createClickhouseStore({ url: this.clickhouseUrl, user: 'default' });
    this.store = createClickhouseStore({ url: this.clickhouseUrl, user: 'default', database: this.database });
    await migrate({ admin: this.#admin, store: this.store, database: this.database, dir: `${ROOT}sql/` });
    this.kafka = new Kafka({ clientId: 'analyzer-test', brokers: this.kafkaBrokers, logLevel: logLevel.NOTHING });
    this.kadmin = this.kafka.admin();
    await this.kadmin.connect();
    await ensureTopics(this.kadmin, topicCatalogue(this.prefix, PARTITIONS, 3_600_000));
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
  }

  topic(key: TopicKey): string {
    return topicName(this.prefix, key);
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KAFKA_BROKERS: this.kafkaBrokers.join(','),
      CLICKHOUSE_URL: this.clickhouseUrl,
      CLICKHOUSE_DATABASE: this.database,
      KAFKA_TOPIC_PREFIX: this.prefix,
      KAFKA_PARTITIONS: String(PARTITIONS),
      ANALYZER_GROUP_ID: this.groupId,
      ...extra,
    };
  }

  async produce(key: TopicKey, messages: readonly Outgoing[], chunk = 500): Promise<void> {
    for (let i = 0; i < messages.length; i += chunk) {
      await this.producer.send({
        topic: this.topic(key),
        acks: -1,
        messages: messages.slice(i, i + chunk).map((m) => ({ key: m.key, value: m.value, ...(m.partition !== undefined ? { partition: m.partition } : {}) })),
      });
    }
  }

  async startInProcess(extra: Record<string, string> = {}, store: SqlStore = this.store, registry = new Registry()): Promise<AnalyzerConsumer> {
    const config = { ...parseSettings(analyzerSettings, this.env(extra)), kafkaTopicPrefix: this.prefix };
    const analyzer = await buildAnalyzer(config, {
      kafka: new Kafka({ clientId: 'analyzer-under-test', brokers: this.kafkaBrokers, logLevel: logLevel.NOTHING }),
      brokers: this.kafkaBrokers, clientId: 'analyzer-under-test',
      store, registry, log: testLogger('analyzer'),
    });
    await analyzer.start();
    return analyzer;
  }

  /**
   * The analyzer as a child process. Its metrics port comes from the OS unless `extra` names one: a random pick
   * in the ephemeral range could land on a port a client socket holds, and the analyzer then refuses to start.
   */
  async spawnAnalyzer(extra: Record<string, string> = {}): Promise<ChildProcess> {
    // ANALYZER_CPU_PROF=<dir>: the analyzer writes a V8 CPU profile there when it exits (bench/README.md).
    const prof = process.env.ANALYZER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.ANALYZER_CPU_PROF}`] : [];
    const metricsPort = extra['METRICS_PORT'] ?? String(await freePort());
    const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'services/analyzer/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...this.env(extra), METRICS_PORT: metricsPort },
      // stdout (its log lines) goes to the run's kept output for the secret scan.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Both streams feed the tail a failed assertion prints: a start failure is a fatal log line on stdout.
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (d: string) => { this.childOutput = (this.childOutput + d).slice(-OUTPUT_TAIL); });
    }
    captureOutput(child, 'analyzer-main');
    return child;
  }

  /** The last characters the analyzer child processes printed, stdout and stderr interleaved. */
  childOutput = '';

  /** Sum over the topics' partitions of (end offset − committed offset of the analyzer group). */
  async lag(keys: readonly TopicKey[] = ['hepSip', 'hepRtcp', 'hepQos']): Promise<number> {
    let lag = 0;
    for (const k of keys) {
      const topic = this.topic(k);
      const ends = await this.kadmin.fetchTopicOffsets(topic);
      const committed = (await this.kadmin.fetchOffsets({ groupId: this.groupId, topics: [topic] }))[0]?.partitions ?? [];
      for (const e of ends) {
        const c = committed.find((x) => x.partition === e.partition);
        const co = c === undefined || Number(c.offset) < 0 ? Number(e.low) : Number(c.offset);
        lag += Number(e.high) - co;
      }
    }
    return lag;
  }

  async waitCaughtUp(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    while (Date.now() < deadline) {
      last = await this.lag();
      if (last === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`analyzer still ${last} records behind after ${timeoutMs} ms`);
  }

  /** `where` is a constant written in the test; values go through `params`. */
  async count(table: string, where = '1', params: Record<string, unknown> = {}): Promise<number> {
    // Plain count(), no FINAL: deduplication must have happened at insert time.
    const rows = await this.store.query<{ n: string }>(`SELECT count() AS n FROM {t:Identifier} WHERE ${where}`, { ...params, t: table });
    return Number(rows[0]!.n);
  }

  /**
   * Waits until every table named holds at least its number of rows (the test then asserts exact counts). Calls and
   * registrations that wait for the capture clock are written by idle advances, one partition at a time and each
   * table in its own insert, so one table reaching its count says nothing of another: a poll saw 4 of 4 calls while
   * 16 of 18 registrations were written, for half a second.
   */
  async waitForRows(expected: Readonly<Record<string, number>>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got: string[] = [];
      let short = false;
      for (const [table, n] of Object.entries(expected)) {
        const have = await this.count(table);
        got.push(`${table} ${have} of ${n}`);
        if (have < n) short = true;
      }
      if (!short) return;
      if (Date.now() > deadline) throw new Error(`rows not all written after ${timeoutMs} ms: ${got.join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Where the analyzer stands on the SIP topic: ranges recorded in the ledger beyond the committed offset (a batch
   * was started and not committed), and records inserted beyond it (inserted, not committed: must be deduplicated
   * when replayed).
   */
  async progress(): Promise<{ rowsAtKill: number; startedNotCommitted: number; insertedNotCommitted: number }> {
    const topic = this.topic('hepSip');
    const committed = (await this.kadmin.fetchOffsets({ groupId: this.groupId, topics: [topic] }))[0]?.partitions ?? [];
    const ends = await this.kadmin.fetchTopicOffsets(topic);
    const ledger = await this.store.query<{ partition: number; next: string }>(
      'SELECT partition, toString(max(last_offset) + 1) AS next FROM ingest_ledger WHERE topic = {t:String} GROUP BY partition', { t: topic });
    let started = 0;
    let committedRecords = 0;
    for (const e of ends) {
      const c = Number(committed.find((x) => x.partition === e.partition)?.offset ?? -1);
      const co = c < 0 ? Number(e.low) : c;
      committedRecords += co - Number(e.low);
      const l = ledger.find((x) => Number(x.partition) === e.partition);
      if (l !== undefined && Number(l.next) > co) started++;
    }
    const rows = (await this.count('sip_messages')) + (await this.count('sip_quarantine'));
    return { rowsAtKill: rows, startedNotCommitted: started, insertedNotCommitted: Math.max(0, rows - committedRecords) };
  }

  async endOffsetsSum(key: TopicKey): Promise<number> {
    const ends = await this.kadmin.fetchTopicOffsets(this.topic(key));
    return ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0);
  }

  /**
   * Every event on an event topic (v1 records and v2 containers alike, read with the guard's reader), with the
   * partition it is on, reading from the start up to the end offsets of now.
   */
  async readEvents(key: 'sipEvents' | 'quarantine', timeoutMs = 30_000): Promise<{ records: number; bad: number; events: { partition: number; event: SipEvent | QuarantineEvent }[] }> {
    const topic = this.topic(key);
    const ends = new Map((await this.kadmin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    const next = new Map([...ends.keys()].map((p) => [p, 0]));
    const events: { partition: number; event: SipEvent | QuarantineEvent }[] = [];
    let records = 0;
    let bad = 0;
    const done = () => [...ends].every(([p, end]) => next.get(p)! >= end);
    if (done()) return { records, bad, events };
    const groupId = uniqueName('events-reader');
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      let finished!: () => void;
      const all = new Promise<void>((resolve) => { finished = resolve; });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (Number(message.offset) >= ends.get(partition)!) return;
          records++;
          const r = readEventRecord(message.value, key === 'quarantine');
          bad += r.bad;
          for (const event of r.events) events.push({ partition, event });
          next.set(partition, Number(message.offset) + 1);
          if (done()) finished();
        },
      });
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`${topic}: not read to its end within ${timeoutMs} ms`)), timeoutMs).unref())]);
    } finally {
      await consumer.disconnect();
      await this.kadmin.deleteGroups([groupId]).catch(() => undefined);
    }
    return { records, bad, events };
  }

  async cleanup(): Promise<void> {
    if (process.env['ANALYZER_TEST_KEEP']) {
      process.stderr.write(`[analyzer-test] kept database ${this.database}, prefix ${this.prefix}, group ${this.groupId}\n`);
      await this.producer?.disconnect().catch(() => undefined);
      await this.kadmin?.disconnect();
      return;
    }
    await this.producer?.disconnect().catch(() => undefined);
    if (this.kadmin) {
      const topics = topicCatalogue(this.prefix, PARTITIONS, 0).map((t) => t.name);
      await this.kadmin.deleteTopics({ topics }).catch(() => undefined);
      await this.kadmin.deleteGroups([this.groupId]).catch(() => undefined);
      await this.kadmin.disconnect();
    }
    if (this.#admin) {
      await this.#admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: this.database });
      await this.#admin.close();
    }
    await this.store?.close();
  }
}

/** Whole minutes, two hours back: inside every retention window, and old enough for a clock message 3 h later. */
export function baseTimeUs(): number {
  const minute = 60_000;
  return Math.floor((Date.now() - 2 * 3_600_000) / minute) * minute * 1000;
}
