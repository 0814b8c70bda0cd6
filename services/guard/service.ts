/**
 * The guard wired: events from Kafka → detectors → alert book → blocklist (compacted topic) → edge proxies, with
 * alerts stored in ClickHouse, published on Kafka and delivered to webhooks. I/O lives here; decisions live in
 * detect/, alerts.ts and blocklist.ts.
 */
import { readFileSync } from 'node:fs';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import { Once, type Component, type ComponentHealth } from '../shared/lifecycle.ts';
import { ensureTopics, topicName } from '../shared/kafka/topics.ts';
import { AlertBook, type Alert, type AlertChange } from './alerts.ts';
import { Blocklist, type BlockPolicy } from './blocklist.ts';
import { BlocklistLog } from './blocklist-log.ts';
import { auditRow, BlocklistService, chTime } from './blocklist-service.ts';
import { Allowlist } from './detect/allowlist.ts';
import { ALL_PARTS, DetectorEngine } from './detect/engine.ts';
import { readEventRecord } from './event-records.ts';
import { FACT_TOPICS, factsOf, type FactKind } from './facts.ts';
import { replayWindow } from './warmup.ts';
import { PrefixList } from './detect/numbers.ts';
import { loadRules, longestWindowMs, type RulesFile } from './detect/rules.ts';
import type { Finding, QuarantineEvent, SipEvent } from './detect/types.ts';
import { KamailioHtable, OpensipsCache, type EdgeProxy } from './edge/proxies.ts';
import { EdgeSync } from './edge/sync.ts';
import { guardMetrics, type GuardMetrics } from './metrics.ts';
import { Notifier, type DeliveryRecord, type UnfinishedDelivery } from './notify/notifier.ts';
import { parseReceivers, publicAlert } from './notify/receivers.ts';
import { TableWriter } from './table-writer.ts';
import type { guardSettings } from './settings.ts';

export { parseEvent } from './event-records.ts';
import type { Parsed } from '../shared/config/settings.ts';

export type GuardConfig = Parsed<typeof guardSettings> & {
  readonly kafkaTopicPrefix: string;
  readonly nodeName: string;
  /** Partitions and retention of the alerts topic when the guard creates it (KAFKA_PARTITIONS, KAFKA_RETENTION). */
  readonly kafkaPartitions?: number;
  readonly kafkaRetention?: number;
};

export const GUARD_TOPICS = { blocklist: 'guard.blocklist', alerts: 'guard.alerts' } as const;

export function blocklistTopic(prefix: string): string {
  return `${prefix}${GUARD_TOPICS.blocklist}`;
}

export function blockPolicy(c: GuardConfig): BlockPolicy {
  return {
    baseTtlMs: c.guardBlockTtl, escalationFactor: c.guardBlockEscalation, maxTtlMs: c.guardBlockMaxTtl, offenceMemoryMs: c.guardOffenceMemory,
    manualTtlMs: c.guardManualBlockTtl, unblockGraceMs: c.guardUnblockGrace,
  };
}

const SHIPPED_HIGH_RISK = new URL('./high-risk-prefixes.txt', import.meta.url);

export function loadDetectorInputs(c: GuardConfig): { rules: RulesFile; allowlist: Allowlist; highRisk: PrefixList } {
  const rules = c.guardRulesFile === undefined ? loadRules(undefined) : loadRules(JSON.parse(readFileSync(c.guardRulesFile, 'utf8')) as unknown, c.guardRulesFile);
  const highRiskPath = c.guardHighRiskFile ?? SHIPPED_HIGH_RISK;
  const highRisk = PrefixList.parse(readFileSync(highRiskPath, 'utf8'), String(highRiskPath));
  return { rules, allowlist: Allowlist.parse(c.guardAllowlist), highRisk };
}

export interface GuardDeps {
  readonly kafka: Kafka;
  readonly store: SqlStore;
  readonly registry: Registry;
  readonly log: Logger;
}

export interface GuardService {
  readonly components: Component[];
  readonly blocklist: BlocklistService;
  /** The engine judging sources (and everything, when the guard reads `sip.events` directly). */
  readonly engine: DetectorEngine;
  /** Every engine: one, or one per facts topic when re-keying (GUARD_REKEY). */
  readonly engines: DetectorEngine[];
  readonly alerts: AlertBook;
  readonly edges: EdgeSync[];
  readonly notifier: Notifier;
  readonly history: TableWriter;
  /** Test and ops hook: every alert change and block as it happens. */
  readonly events: { onAlert?: (c: AlertChange) => void; onBlock?: (ip: string, detector: string, at: number) => void };
}

export function buildGuard(c: GuardConfig, deps: GuardDeps): GuardService {
  const { kafka, store, registry, log } = deps;
  const metrics = guardMetrics(registry);
  const { rules, allowlist, highRisk } = loadDetectorInputs(c);
  const engines = c.guardRekey
    ? {
      source: new DetectorEngine(rules, allowlist, highRisk, { source: true, account: false, destination: false }),
      account: new DetectorEngine(rules, allowlist, highRisk, { source: false, account: true, destination: false }),
      destination: new DetectorEngine(rules, allowlist, highRisk, { source: false, account: false, destination: true }),
    }
    : undefined;
  const engine = engines?.source ?? new DetectorEngine(rules, allowlist, highRisk, ALL_PARTS);
  const book = new AlertBook({ resolveAfterMs: c.guardAlertResolveAfter, updateEveryMs: 10_000 });
  const state = new Blocklist(blockPolicy(c), allowlist);
  const history = new TableWriter(store, log.child({ component: 'history' }));
  const edges: EdgeSync[] = [];
  const proxies: EdgeProxy[] = [
    ...c.kamailioRpcUrls.map((u) => new KamailioHtable(u.toString(), c.kamailioHtable, c.guardEdgeTimeout)),
    ...c.opensipsMiUrls.map((u) => new OpensipsCache(u.toString(), c.opensipsCache, c.opensipsKeyPrefix, c.guardEdgeTimeout)),
  ];
  const blockLog = new BlocklistLog({
    kafka, topic: blocklistTopic(c.kafkaTopicPrefix), blocklist: state, log: log.child({ component: 'blocklist' }), groupPrefix: `${c.guardGroupId}-blocklist-${c.nodeName}`,
    onChange: (r) => {
      // A ban lifted longer ago than any ban can live is gone from every proxy already: no delete for it (the topic
      // holds such records for the offence memory, and a guard reading it at start would send thousands).
      if (r.state === 'lifted' && r.updatedAt < Date.now() - Math.max(c.guardBlockMaxTtl, c.guardManualBlockTtl)) return;
      for (const e of edges) e.notify(r);
    },
  });
  for (const proxy of proxies) {
    edges.push(new EdgeSync({ proxy, active: (now) => state.active(now), probeIntervalMs: c.guardEdgeProbeInterval, retryBaseMs: 200, retryMaxMs: c.guardEdgeRetryMax, metrics, log: log.child({ component: 'edge' }) }));
  }
  const blocklist = new BlocklistService(state, blockLog, (row) => history.add('blocklist_audit', auditRow(row, c.nodeName)));
  const notifier: Notifier = new Notifier({
    receivers: parseReceivers(c.alertWebhooks ?? ''), secret: c.alertWebhookSecret, groupWaitMs: c.alertWebhookGroupWait, attempts: c.alertWebhookAttempts,
    retryBaseMs: c.alertWebhookRetryBase, timeoutMs: c.alertWebhookTimeout, resendFiringMs: 60_000, externalUrl: c.alertExternalUrl ?? '', metrics,
    log: log.child({ component: 'notifier' }), record: (d) => history.add('alert_deliveries', deliveryRow(d, c.nodeName)), firing: () => book.firing,
    unfinished: (): Promise<UnfinishedDelivery[]> => loadUnfinishedDeliveries(store, c.nodeName, notifier.retryHorizonMs),
  });
  const events: GuardService['events'] = {};
  const core = new GuardCore(c, { kafka, store, log, metrics, engine, engines, rules, book, blocklist, state, history, notifier, edges, events });
  const all = engines === undefined ? [engine] : Object.values(engines);
  return { components: [history, blockLog, ...edges, notifier, core], blocklist, engine, engines: all, alerts: book, edges, notifier, history, events };
}

interface CoreDeps {
  readonly kafka: Kafka;
  readonly store: SqlStore;
  readonly log: Logger;
  readonly metrics: GuardMetrics;
  readonly engine: DetectorEngine;
  readonly engines: Readonly<Record<FactKind, DetectorEngine>> | undefined;
  readonly rules: RulesFile;
  readonly book: AlertBook;
  readonly blocklist: BlocklistService;
  readonly state: Blocklist;
  readonly history: TableWriter;
  readonly notifier: Notifier;
  readonly edges: EdgeSync[];
  readonly events: GuardService['events'];
}

/** Consumes the event topics and runs findings through alerts and blocks; a 1 s tick resolves alerts and expires blocks. */
class GuardCore implements Component {
  readonly name = 'guard-detectors';
  readonly #c: GuardConfig;
  readonly #d: CoreDeps;
  readonly #closing = new Once();
  #consumer: Consumer | undefined;
  #forwarder: Consumer | undefined;
  readonly #routes = new Map<string, { engine: DetectorEngine; label: string }>();
  #qTopic = '';
  /** Partitions of the detection group this guard holds (`topic\u0000partition`). */
  #owned = new Set<string>();
  #producer: Producer | undefined;
  #tick: NodeJS.Timeout | undefined;
  #running = false;
  #crashed: string | undefined;
  #badLogged = 0;
  /** Addresses active at the last tick, to notice expiries. */
  #active = new Set<string>();
  #lastSweep = 0;

  constructor(c: GuardConfig, d: CoreDeps) {
    this.#c = c;
    this.#d = d;
  }

  async start(): Promise<void> {
    const { kafka, book, store, log } = this.#d;
    book.restore(await loadFiringAlerts(store, this.#c.guardAlertResolveAfter).catch((err: unknown) => {
      log.warn({ err }, 'could not read firing alerts from ClickHouse; ongoing alerts may be reopened');
      return [];
    }), Date.now());
    const prefix = this.#c.kafkaTopicPrefix;
    const sipTopic = topicName(prefix, 'sipEvents');
    const qTopic = topicName(prefix, 'quarantine');
    this.#qTopic = qTopic;
    const rekey = this.#d.engines;
    // Topic → engine and metric label. Quarantined messages are judged per source in both modes.
    this.#routes.set(qTopic, { engine: this.#d.engine, label: 'sip.quarantine' });
    if (rekey === undefined) this.#routes.set(sipTopic, { engine: this.#d.engine, label: 'sip.events' });
    else for (const k of Object.keys(FACT_TOPICS) as FactKind[]) this.#routes.set(`${prefix}${FACT_TOPICS[k]}`, { engine: rekey[k], label: FACT_TOPICS[k] });
    const detectGroup = rekey === undefined ? this.#c.guardGroupId : `${this.#c.guardGroupId}-facts`;
    const inputs = [...this.#routes.keys()];
    const admin = kafka.admin();
    await admin.connect();
    try {
      const partitions = this.#c.kafkaPartitions ?? 3;
      const retentionMs = this.#c.kafkaRetention ?? 30 * 86_400_000;
      const wanted = [{ name: `${prefix}${GUARD_TOPICS.alerts}`, partitions, retentionMs, doc: 'Guard alert changes (opened, escalated, updated, resolved), keyed by alert id.' }];
      if (rekey !== undefined) {
        for (const k of Object.keys(FACT_TOPICS) as FactKind[]) {
          wanted.push({ name: `${prefix}${FACT_TOPICS[k]}`, partitions, retentionMs: Math.min(retentionMs, 7 * 86_400_000), doc: `sip.events re-keyed by ${k} for the guard's ${k} detectors.` });
        }
      }
      await ensureTopics(admin, wanted).catch(async (err: unknown) => {
        // Another guard created them between list and create.
        const have = new Set(await admin.listTopics());
        if (!wanted.every((t) => have.has(t.name))) throw err;
      });
      if (this.#c.guardWarmup > 0) await this.#warm(admin, detectGroup, inputs, undefined);
    } finally {
      await admin.disconnect();
    }
    this.#producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await this.#producer.connect();
    this.#consumer = kafka.consumer({ groupId: detectGroup, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: inputs, fromBeginning: false });
    this.#consumer.on(this.#consumer.events.CRASH, (e) => {
      this.#crashed = String((e.payload as { error?: Error }).error?.message ?? 'crash');
      this.#running = false;
    });
    // A partition taken over from another guard (it left or the group grew) holds subjects whose windows that guard
    // kept: pause it, rebuild them from the log, then consume. The listener runs before the first fetch after a join.
    let joined = false;
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (e) => {
      const assigned = (e.payload as { memberAssignment: Record<string, number[]> }).memberAssignment;
      const gained = new Map<string, Set<number>>();
      for (const [topic, parts] of Object.entries(assigned)) {
        const fresh = parts.filter((p) => !this.#owned.has(`${topic}\u0000${p}`));
        if (fresh.length > 0) gained.set(topic, new Set(fresh));
      }
      this.#owned = new Set(Object.entries(assigned).flatMap(([topic, parts]) => parts.map((p) => `${topic}\u0000${p}`)));
      // The first assignment was covered by the start-up warm-up (every partition).
      if (!joined || gained.size === 0 || this.#c.guardWarmup <= 0) {
        joined = true;
        return;
      }
      const pauseList = [...gained].map(([topic, parts]) => ({ topic, partitions: [...parts] }));
      this.#consumer?.pause(pauseList);
      void (async () => {
        const a = kafka.admin();
        try {
          await a.connect();
          await this.#warm(a, detectGroup, [...gained.keys()], gained);
        } finally {
          await a.disconnect().catch(() => undefined);
          this.#consumer?.resume(pauseList);
        }
      })().catch((err: unknown) => log.warn({ err }, 'warm-up of taken-over partitions failed'));
    });
    await this.#consumer.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          this.#event(batch.topic, m.value, false);
          resolveOffset(m.offset);
        }
        await heartbeat();
      },
    });
    if (rekey !== undefined) await this.#startForwarder(sipTopic);
    this.#running = true;
    this.#tick = setInterval(() => this.#onTick(), 1_000);
  }

  /** Replays the last window of `topics` (or of the `only` partitions) into the engines, findings dropped (warmup.ts). */
  async #warm(admin: Admin, groupId: string, topics: string[], only: ReadonlyMap<string, ReadonlySet<number>> | undefined): Promise<void> {
    const { kafka, log } = this.#d;
    const windowMs = Math.min(this.#c.guardWarmup, longestWindowMs(this.#d.rules));
    await replayWindow({
      kafka, admin, groupId, topics, sinceMs: Date.now() - windowMs, timeoutMs: 120_000, log: log.child({ component: 'warmup' }), ...(only ? { only } : {}),
      feed: (topic, value) => this.#event(topic, value, true),
    }).catch((err: unknown) => log.warn({ err }, 'warm-up failed; detector windows start empty'));
  }

  /**
   * Forwards `sip.events` to the facts topics (at least once: offsets are resolved after the send; the engines drop
   * replayed event ids). It uses the guard group, so several guards share this work as they shared the events.
   */
  async #startForwarder(sipTopic: string): Promise<void> {
    const { kafka, metrics } = this.#d;
    const prefix = this.#c.kafkaTopicPrefix;
    this.#forwarder = kafka.consumer({ groupId: this.#c.guardGroupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    await this.#forwarder.connect();
    await this.#forwarder.subscribe({ topics: [sipTopic], fromBeginning: false });
    this.#forwarder.on(this.#forwarder.events.CRASH, (e) => {
      this.#crashed = `forwarder: ${String((e.payload as { error?: Error }).error?.message ?? 'crash')}`;
      this.#running = false;
    });
    await this.#forwarder.run({
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const out = new Map<string, { key: string; value: Buffer }[]>();
        for (const m of batch.messages) {
          const { events, values, bad } = readEventRecord(m.value, false);
          if (bad > 0) this.#bad('sip.events', m.value, bad);
          // Each event goes on as a version-1 record (its line of a container), so facts topics stay version 1.
          for (let i = 0; i < events.length; i++) {
            for (const f of factsOf(events[i]!)) {
              const topic = `${prefix}${FACT_TOPICS[f.kind]}`;
              let list = out.get(topic);
              if (list === undefined) out.set(topic, (list = []));
              list.push({ key: f.key, value: values[i]! });
            }
          }
          if (events.length > 0) metrics.events.inc({ topic: 'sip.events', outcome: 'forwarded' }, events.length);
        }
        if (out.size > 0) await this.#producer!.sendBatch({ topicMessages: [...out].map(([topic, messages]) => ({ topic, messages })) });
        const last = batch.messages[batch.messages.length - 1];
        if (last !== undefined) resolveOffset(last.offset);
        await heartbeat();
      },
    });
  }

  #bad(topic: string, value: Buffer | null, n = 1): void {
    this.#d.metrics.events.inc({ topic, outcome: 'bad' }, n);
    if (this.#badLogged++ % 1000 === 0) this.#d.log.warn({ topic, sample: value?.subarray(0, 200).toString('utf8') ?? null, bad: this.#badLogged }, 'record holds something that is not a guard event (version 1, or a version-2 container of them); skipped and counted');
  }

  /** One record of an input topic through its engine; in warm-up (`warm`) state only, findings dropped. */
  #event(inputTopic: string, value: Buffer | null, warm: boolean): void {
    const { metrics } = this.#d;
    const route = this.#routes.get(inputTopic);
    if (route === undefined) return;
    const { engine, label: topic } = route;
    const quarantine = inputTopic === this.#qTopic;
    const { events, bad } = readEventRecord(value, quarantine);
    if (bad > 0) this.#bad(topic, value, bad);
    // Counted once per record, not per event (a label lookup per event was ~0.8 µs of it): nothing in between yields,
    // so a scrape sees the same counts either way.
    const dup0 = engine.duplicates;
    for (const e of events) {
      const findings = quarantine ? engine.quarantine(e as QuarantineEvent) : engine.sip(e as SipEvent);
      if (warm) continue;
      for (const f of findings) this.#finding(f);
    }
    const dups = engine.duplicates - dup0;
    if (dups > 0) metrics.events.inc({ topic, outcome: 'duplicate' }, dups);
    if (events.length > dups) metrics.events.inc({ topic, outcome: warm ? 'warmup' : 'ok' }, events.length - dups);
  }

  #finding(f: Finding): void {
    const { book, metrics, blocklist, log } = this.#d;
    metrics.findings.inc({ detector: f.detector, rule: f.rule.split(':')[0]!, severity: f.severity });
    const now = Date.now();
    const change = book.apply(f, now);
    if (change !== undefined) this.#alertChanged(change);
    const alertId = change?.alert.id ?? book.firing.find((a) => a.detector === f.detector && a.rule === f.rule && a.subject.value === f.subject.value)?.id ?? '';
    for (const ip of f.block) {
      if (blocklist.isActive(ip, now)) continue;
      blocklist.block({ ip, reason: `${f.detector}/${f.rule}: ${f.evidence.detail}`, detector: f.detector, actor: `guard:${this.#c.nodeName}`, alertId }).then((d) => {
        metrics.blocks.inc({ detector: f.detector, action: d.kind });
        if (d.kind === 'block') {
          metrics.detectionSeconds.observe({ detector: f.detector }, Math.max(0, Date.now() - f.at) / 1000);
          this.#d.events.onBlock?.(ip, f.detector, Date.now());
          log.info({ ip, detector: f.detector, rule: f.rule, ttlS: Math.round((d.record.expiresAt - Date.now()) / 1000), offences: d.record.offences }, 'blocked');
        }
      }, (err: unknown) => log.error({ err, ip }, 'block not written to the blocklist topic (applied locally and pushed; retried on the next finding)'));
    }
  }

  #alertChanged(change: AlertChange): void {
    const { metrics, history, notifier, log } = this.#d;
    const a = change.alert;
    metrics.alerts.inc({ detector: a.detector, change: change.kind });
    history.add('alerts', alertRow(a, this.#c.nodeName));
    this.#producer?.send({ topic: `${this.#c.kafkaTopicPrefix}${GUARD_TOPICS.alerts}`, messages: [{ key: a.id, value: JSON.stringify({ change: change.kind, alert: publicAlert(a) }) }] })
      .catch((err: unknown) => log.warn({ err, alert: a.id }, 'alert not published to Kafka (stored in ClickHouse)'));
    notifier.notify(change);
    if (change.kind !== 'updated') log.info({ alert: a.id, change: change.kind, detector: a.detector, rule: a.rule, severity: a.severity, subject: a.subject }, `alert ${change.kind}`);
    this.#d.events.onAlert?.(change);
  }

  #onTick(): void {
    const now = Date.now();
    const { book, state, edges, metrics, history } = this.#d;
    for (const c of book.tick(now)) this.#alertChanged(c);
    const active = new Set(state.active(now).map((r) => r.ip));
    for (const ip of this.#active) {
      if (active.has(ip)) continue;
      const r = state.get(ip);
      if (r !== undefined && r.state === 'active') {
        for (const e of edges) e.expired(ip);
        history.add('blocklist_audit', { ts: chTime(now), ip, action: 'expire', reason: 'TTL elapsed', detector: r.detector, actor: `guard:${this.#c.nodeName}`, alert_id: r.alertId, ttl_s: 0, offences: r.offences, expires_at: chTime(r.expiresAt), node: this.#c.nodeName });
      }
    }
    this.#active = active;
    metrics.activeBlocks.set(active.size);
    metrics.firing.reset();
    for (const a of book.firing) metrics.firing.inc({ detector: a.detector });
    if (now - this.#lastSweep > 30_000) {
      for (const engine of new Set([...this.#routes.values()].map((r) => r.engine))) engine.sweep();
      this.#lastSweep = now;
    }
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      clearInterval(this.#tick);
      this.#running = false;
      await this.#forwarder?.disconnect();
      await this.#consumer?.disconnect();
      await this.#producer?.disconnect();
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#crashed !== undefined) return { state: 'down', detail: `event consumer crashed: ${this.#crashed}` };
    if (!this.#running) return { state: 'down', detail: 'not consuming' };
    return { state: 'ok' };
  }
}

export function alertRow(a: Alert, node: string): Record<string, unknown> {
  return {
    id: a.id, version: a.version, detector: a.detector, rule: a.rule, severity: a.severity, state: a.state, subject_kind: a.subject.kind, subject: a.subject.value,
    tenant: a.tenant, first_seen: chTime(a.firstSeen), last_seen: chTime(a.lastSeen), resolved_at: a.resolvedAt === null ? null : chTime(a.resolvedAt),
    findings: a.findings, blocked: [...a.blocked], evidence: JSON.stringify(publicAlert(a)['evidence']), node,
  };
}

function deliveryRow(d: DeliveryRecord, node: string): Record<string, unknown> {
  return {
    ts: chTime(d.ts), receiver: d.receiver, shape: d.shape, delivery_id: d.deliveryId, alert_ids: [...d.alertIds], outcome: d.outcome, attempt: d.attempt,
    http_status: d.httpStatus, error: d.error, payload: d.payload, node,
  };
}

interface AlertDbRow {
  id: string; version: string; detector: string; rule: string; severity: string; state: string; subject_kind: string; subject: string; tenant: string;
  first_seen_text: string; last_seen_text: string; resolved_at_text: string | null; findings: string; blocked: string[]; evidence: string;
}

export function alertFromRow(r: AlertDbRow): Alert {
  const ev = JSON.parse(r.evidence) as { count: number; threshold: number; window_ms: number; detail: string; call_ids: string[]; extra?: Record<string, string | number> };
  const t = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);
  return {
    id: r.id, version: Number(r.version), detector: r.detector as Alert['detector'], rule: r.rule, severity: r.severity as Alert['severity'], state: r.state as Alert['state'],
    subject: { kind: r.subject_kind as Alert['subject']['kind'], value: r.subject }, tenant: r.tenant, firstSeen: t(r.first_seen_text), lastSeen: t(r.last_seen_text),
    resolvedAt: r.resolved_at_text === null ? null : t(r.resolved_at_text), findings: Number(r.findings), blocked: r.blocked,
    evidence: { count: ev.count, threshold: ev.threshold, windowMs: ev.window_ms, detail: ev.detail, callIds: ev.call_ids, ...(ev.extra ? { extra: ev.extra } : {}) },
  };
}

/** Times as text under their own names: an alias equal to the column would shadow it in WHERE. */
export const ALERT_COLUMNS = 'id, version, detector, rule, severity, state, subject_kind, subject, tenant, toString(first_seen) AS first_seen_text, '
  + 'toString(last_seen) AS last_seen_text, if(isNull(resolved_at), NULL, toString(resolved_at)) AS resolved_at_text, findings, blocked, evidence';

async function loadFiringAlerts(store: SqlStore, resolveAfterMs: number): Promise<Alert[]> {
  const rows = await store.query<AlertDbRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE last_seen > now64(3) - toIntervalSecond({s:UInt32}) ORDER BY id, version DESC LIMIT 1 BY id`,
    { s: Math.ceil(resolveAfterMs / 1000) * 2 });
  return rows.map(alertFromRow).filter((a) => a.state === 'firing');
}

/** Deliveries of this node whose latest record is a retry (not delivered, not dead) within the retry horizon. */
async function loadUnfinishedDeliveries(store: SqlStore, node: string, horizonMs: number): Promise<UnfinishedDelivery[]> {
  const rows = await store.query<{ delivery_id: string; receiver: string; alert_ids: string[]; last: string; last_attempt: number | string; ts_ms: number | string; payload: string }>(
    `SELECT delivery_id, any(receiver) AS receiver, any(alert_ids) AS alert_ids, argMax(outcome, (attempt, ts)) AS last, max(attempt) AS last_attempt,
            toUnixTimestamp64Milli(max(ts)) AS ts_ms, argMax(payload, (attempt, ts)) AS payload
       FROM alert_deliveries WHERE node = {node:String} AND ts > now64(3) - toIntervalSecond({s:UInt32})
      GROUP BY delivery_id HAVING last = 'retry'`,
    { node, s: Math.ceil(horizonMs / 1000) + 60 });
  return rows.map((r) => ({ deliveryId: r.delivery_id, receiver: r.receiver, alertIds: r.alert_ids, attempt: Number(r.last_attempt), ts: Number(r.ts_ms), payload: r.payload }));
}
