/**
 * Guard processes for the scale-out and restart tests: `services/guard/main.ts` as a child on the test's Kafka
 * prefix and ClickHouse database, its /metrics read back, and distributed brute-force traffic as the analyzer
 * would publish it (requests keyed by the client, the proxy's 401s keyed by the proxy).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { fileURLToPath } from 'node:url';
import { encodeContainer } from '../../services/shared/kafka/event-container.ts';
import { partitionFor } from '../../services/shared/kafka/partition.ts';
import { req, resp } from '../unit/guard/events.ts';
import { freePort } from '../support/ports.ts';
import { PARTITIONS, type AnalyzerEnv } from './analyzer-harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROXY = '10.0.0.1';

export interface GuardProc {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
  output(): string;
  /** Sum of `tollgate_guard_events_total` series matching the labels. */
  events(labels: Record<string, string>): Promise<number>;
}

export async function spawnGuard(env: AnalyzerEnv, extra: Record<string, string>): Promise<GuardProc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/guard/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env.env(), METRICS_PORT: String(port), ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  child.stderr!.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child, port, exited, output: () => out,
    async events(labels) {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith('tollgate_guard_events_total{')) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
  };
}

/**
 * The teardown every multi-guard test needs: stop the guards still running, delete the consumer groups under
 * `groupId` and the run's `guard.*` topics, then the analyzer environment's own topics and database.
 */
export async function stopGuardsAndCleanup(env: AnalyzerEnv, groupId: string, guards: readonly GuardProc[]): Promise<void> {
  for (const g of guards) if (g.child.exitCode === null) { g.child.kill('SIGTERM'); await g.exited; }
  const kadmin = new Kafka({ clientId: 'guard-test-cleanup', brokers: env.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await kadmin.connect();
  const groups = (await kadmin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupId));
  await kadmin.deleteGroups(groups).catch(() => undefined);
  const topics = (await kadmin.listTopics()).filter((t) => t.startsWith(`${env.prefix}guard.`));
  await kadmin.deleteTopics({ topics }).catch(() => undefined);
  await kadmin.disconnect();
  await env.cleanup();
}

export async function until(what: string, ms: number, f: () => boolean | Promise<boolean>, tail?: () => string): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms${tail ? `\n${tail().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `n` rejected REGISTERs from `src` on `account`: the request on partition `partition` (keyed by the client), the 401 keyed by the proxy. */
export function failures(src: string, account: string, n: number, partition: number): { key: string; value: Buffer; partition?: number }[] {
  const out: { key: string; value: Buffer; partition?: number }[] = [];
  for (let i = 0; i < n; i++) {
    const at = Date.now();
    const callId = `bf-${src}-${account}-${i}-${Math.random().toString(36).slice(2)}`;
    const over = { call_id: callId, cseq: 2, from_user: account, to_user: account, auth_user: account };
    out.push({ key: src, partition, value: Buffer.from(JSON.stringify(req(at, src, 'REGISTER', { ...over, dst_ip: PROXY }))) });
    out.push({ key: PROXY, value: Buffer.from(JSON.stringify(resp(at + 5, src, 'REGISTER', 401, { ...over, src_ip: PROXY }))) });
  }
  return out;
}

/**
 * The same events as v2 containers, the analyzer's default format: one container per partition (the message's own,
 * or its key's), in order, keyed by the first event's key.
 */
export function asContainers(msgs: readonly { key: string; value: Buffer; partition?: number }[]): { key: string; value: Buffer; partition: number }[] {
  const groups = new Map<number, { key: string; lines: string[] }>();
  for (const m of msgs) {
    const p = m.partition ?? partitionFor(Buffer.from(m.key), PARTITIONS);
    let g = groups.get(p);
    if (g === undefined) groups.set(p, (g = { key: m.key, lines: [] }));
    g.lines.push(m.value.toString('utf8'));
  }
  return [...groups].map(([partition, g]) => ({ key: g.key, partition, value: encodeContainer(g.lines) }));
}

/** End offsets minus the group's committed offsets, summed over the topic's partitions (no commit = all of it). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = new Map(((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.reduce((n, e) => n + Number(e.high) - Math.max(0, committed.get(e.partition) ?? 0), 0);
}
