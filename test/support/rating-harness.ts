/**
 * Builds the rating service the way main.ts does, against test peers: the event-socket emulator(s), the real
 * CGRateS engine, a fresh ClickHouse database (all migrations applied) and a temporary CDR journal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createClickhouseStore, type SqlStore } from '../../services/shared/clickhouse/client.ts';
import { migrate } from '../../services/shared/clickhouse/migrations.ts';
import type { RecordProducer } from '../../services/shared/kafka/producer.ts';
import { CgratesClient } from '../../services/rating/cgrates/client.ts';
import { RatingService, storedCdrs, type RatingServiceOptions } from '../../services/rating/service.ts';
import { CdrWriter } from '../../services/rating/store/cdr-writer.ts';
import { ensureLocalStack, uniqueName } from './stack.ts';
import { testLogger } from './test-output.ts';
import { ESL_PASSWORD } from './test-secrets.ts';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface RatingDb {
  readonly store: SqlStore;
  readonly database: string;
  drop(): Promise<void>;
}

export async function ratingDatabase(): Promise<RatingDb> {
  const url = process.env['CLICKHOUSE_URL'] ?? (await ensureLocalStack()).clickhouseUrl;
  const database = uniqueName('tg_rating');
  const admin = createClickhouseStore({ url, user: 'default' });
  const store = createClickhouseStore({ url, user: 'default', database });
  await migrate({ admin, store, database, dir: SQL_DIR });
  return {
    store, database,
    async drop() {
      await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
      await Promise.all([admin.close(), store.close()]);
    },
  };
}

export interface HarnessOptions {
  readonly nodes: readonly { name: string; port: number }[];
  readonly cgratesUrl: string;
  readonly db: RatingDb;
  readonly producer?: RecordProducer;
  readonly topic?: string;
  readonly overrides?: Partial<RatingServiceOptions>;
  readonly spoolDir?: string;
}

export interface RatingHarness {
  readonly service: RatingService;
  readonly writer: CdrWriter;
  readonly engine: CgratesClient;
  readonly registry: Registry;
  readonly spoolDir: string;
  /** CGRateS calls made, by method and outcome (`SessionSv1.UpdateSession:ok`). */
  readonly calls: Map<string, number>;
  /** Rows of `cdrs` (latest revision per leg). */
  cdrs(where?: string, params?: Record<string, unknown>): Promise<Record<string, unknown>[]>;
  stop(opts?: { keepSpool?: boolean }): Promise<void>;
}

export async function startRatingService(o: HarnessOptions): Promise<RatingHarness> {
  const log = testLogger('rating');
  const registry = new Registry();
  const spoolDir = o.spoolDir ?? (await mkdtemp(path.join(tmpdir(), 'tollgate-rating-spool-')));
  const calls = new Map<string, number>();
  const engine = new CgratesClient({
    url: o.cgratesUrl, timeoutMs: 1_000, breakerFailures: 3, breakerCooldownMs: 500,
    onCall: (method, outcome) => calls.set(`${method}:${outcome}`, (calls.get(`${method}:${outcome}`) ?? 0) + 1),
  });
  const writer = new CdrWriter({ store: o.db.store, producer: o.producer, topic: o.topic ?? 'unused', spoolDir, log, flushIntervalMs: 20 });
  const service = new RatingService({
    nodes: o.nodes.map((n) => ({ name: n.name, host: '127.0.0.1', port: n.port })),
    password: ESL_PASSWORD, engine, cdrs: writer, stored: storedCdrs((sql, params) => o.db.store.query(sql, params)),
    defaults: { tenant: 'cgrates.org', reqtype: '*rated', tenantReqtypes: new Map() },
    policy: { prepaidFailOpen: false, failOpenMaxMs: 60_000, refuseCause: 'OUTGOING_CALL_BARRED' },
    debitIntervalMs: 0, retryIntervalMs: 300, maxAttempts: 50, jsonCdrWaitMs: 1_500,
    esl: { commandTimeoutMs: 2_000, idleTimeoutMs: 60_000, backoffMaxMs: 500, backoffInitialMs: 50, connectTimeoutMs: 1_000 },
    registry, log, ...o.overrides,
  });
  await writer.start();
  await service.start();
  return {
    service, writer, engine, registry, spoolDir, calls,
    async cdrs(where = '1', params = {}) {
      await writer.drain();
      return o.db.store.query(`SELECT * FROM cdrs FINAL WHERE ${where} ORDER BY created_at, unique_id`, params);
    },
    async stop(opts = {}) {
      await service.close();
      await writer.close();
      engine.close();
      if (!opts.keepSpool) await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
