import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { mayRaisePriority, planPriorities } from '../../services/supervisor/priority.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';
import { alive, pidOf, startTollgate, waitFor } from '../support/start-process.ts';
import { REFUSED_HEP_AUTH_KEY, URL_CLICKHOUSE_PASSWORD } from '../support/test-secrets.ts';

describe('npm start (one supervised process per service)', () => {
  it('applies migrations, aggregates every process on /healthz and /metrics, restarts a SIGKILLed child and counts it, stops cleanly on SIGINT', { timeout: 180_000 }, async () => {
    const stack = await ensureLocalStack();
    const database = uniqueName('tg_start');
    const port = 20000 + Math.floor(Math.random() * 500);
    const tg = startTollgate({
      ...process.env, KAFKA_BROKERS: stack.kafkaBrokers.join(','), CLICKHOUSE_URL: stack.clickhouseUrl,
      API_PORT: String(port), HEP_PORT: String(port + 500), CLICKHOUSE_DATABASE: database, KAFKA_TOPIC_PREFIX: `${database}.`, LOG_FORMAT: 'json',
      COLLECTOR_PROCESSES: '2', ANALYZER_PROCESSES: '1', PUBLISH_SPOOL_DIR: `.run/test-spool-${database}`,
      API_KEYS: 'noc:start-test-key-0123456789:admin',
    });
    let code: number | null = null;
    let topics: string[] = [];
    try {
      await tg.ready(120_000);
      assert.match(tg.output(), new RegExp(`API, /healthz, /metrics +http://127\\.0\\.0\\.1:${port}`));
      assert.match(tg.output(), /Processes +collector ×2, analyzer ×1, guard ×1, api ×1/);
      // Intake first: the collectors at the default COLLECTOR_NICE when this user may raise a priority, else the rest
      // steps back; the log says which, and the processes run at what it says.
      const plan = planPriorities(-10, mayRaisePriority());
      assert.ok(tg.output().includes(plan.summary), tg.output().slice(-3000));
      const running = JSON.parse(tg.output().split('\n').find((l) => l.includes('"msg":"tollgate is running"'))!) as { processes: { name: string; pid: number }[] };
      for (const p of running.processes) {
        const expected = p.name.startsWith('collector') ? plan.collector : plan.background;
        assert.equal(getPriority(p.pid), expected, `${p.name} nice`);
      }

      // /healthz: the API's own probes plus one component per process, each healthy.
      await waitFor('every process healthy on /healthz', 10_000, async () => (await tg.health(port)).body.status === 'ok');
      const { status, body } = await tg.health(port);
      assert.equal(status, 200);
      assert.equal(body.components.clickhouse?.state, 'ok');
      assert.equal(body.components.kafka?.state, 'ok');
      for (const name of ['collector-1', 'collector-2', 'analyzer-1', 'guard-1', 'api-1']) {
        assert.equal(body.components[name]?.state, 'ok', `${name}: ${JSON.stringify(body.components[name])}`);
      }
      assert.match(body.components['collector-1']!.detail!, /hep-udp: ok/);

      // The API process serves every resource through its auth hook: calls, the guard's blocklist, the CDRs.
      for (const path of ['/v1/calls', '/v1/blocklist', '/v1/alerts', '/v1/cdrs']) {
        const auth = { authorization: 'Bearer start-test-key-0123456789' };
        assert.equal((await fetch(`http://127.0.0.1:${port}${path}`, { headers: auth })).status, 200, path);
        assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 401, `${path} without a key`);
      }

      // Every line of a child is tagged with its process.
      assert.match(tg.output(), /\{"process":"collector-2","level":\d+/);

      const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const before = await metrics();
      for (const p of ['collector-1', 'collector-2', 'analyzer-1', 'guard-1', 'api-1']) {
        assert.match(before, new RegExp(`tollgate_process_cpu_seconds_total\\{service="\\w+",node="[^"]+",process="${p}"\\}`));
      }
      assert.match(before, /tollgate_supervisor_restarts_total\{service="collector",node="[^"]+"\} 0\n/);

      // A SIGKILLed child comes back (new pid, healthy) and the restart is counted.
      const victim = pidOf(body, 'collector-2')!;
      process.kill(victim, 'SIGKILL');
      await waitFor('collector-2 restarted', 30_000, async () => {
        const h = (await tg.health(port)).body;
        const pid = pidOf(h, 'collector-2');
        return h.components['collector-2']?.state === 'ok' && pid !== undefined && pid !== victim;
      });
      assert.equal(alive(victim), false);
      assert.match((await tg.health(port)).body.components['collector-2']!.detail!, /1 restart;/);
      assert.match(await metrics(), /tollgate_supervisor_restarts_total\{service="collector",node="[^"]+"\} 1\n/);
      assert.match(tg.output(), /collector-2 died \(killed by SIGKILL\); restarting/);
    } finally {
      code = await tg.interrupt();
      rmSync(`.run/test-spool-${database}`, { recursive: true, force: true });
      const admin = createClickhouseStore({ url: stack.clickhouseUrl, user: 'default' });
      await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
      await admin.close();
      const kafkaAdmin = new Kafka({ brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
      await kafkaAdmin.connect();
      topics = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(`${database}.`));
      if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
      await kafkaAdmin.disconnect();
    }
    assert.ok(topics.length >= 5, `npm start created its topics: ${topics.join(', ')}`);
    assert.equal(code, 0, `exit code after SIGINT:\n${tg.output().slice(-3000)}`);
    const out = tg.output();
    assert.match(out, /\{"process":"analyzer-1","level":\d+.*"msg":"stopped"\}/);
    // Intake stops first, the API (health) last, then the supervisor.
    const order = ['stopping collector-1, collector-2', 'stopping analyzer-1', 'stopping api-1', '"name":"tollgate","msg":"stopped"'].map((m) => out.indexOf(m));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `ordered stop: ${order.join(', ')}\n${out.slice(-3000)}`);
  });

  it('the production entry refuses to start without KAFKA_BROKERS / CLICKHOUSE_URL, with a configuration error', { timeout: 30_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_FORMAT: 'json' };
    delete env.KAFKA_BROKERS;
    delete env.CLICKHOUSE_URL;
    const tg = startTollgate(env, 'services/main.ts');
    const [code] = (await new Promise<[number | null]>((r) => tg.child.once('exit', (c) => r([c]))));
    assert.equal(code, 2, tg.output());
    assert.match(tg.output(), /KAFKA_BROKERS is not set/);
    assert.match(tg.output(), /CLICKHOUSE_URL is not set/);
    assert.doesNotMatch(tg.output(), /Cannot find module|ERR_MODULE_NOT_FOUND/);
  });

  it('a ClickHouse URL with credentials that fail shows the password nowhere: not in the error, the logs or the exit message', { timeout: 60_000 }, async () => {
    const stack = await ensureLocalStack();
    const secret = URL_CLICKHOUSE_PASSWORD;
    const ch = new URL(stack.clickhouseUrl);
    ch.username = 'default';
    ch.password = secret;
    const tg = startTollgate({
      ...process.env, KAFKA_BROKERS: stack.kafkaBrokers.join(','), CLICKHOUSE_URL: ch.toString(), LOG_FORMAT: 'json',
      CLICKHOUSE_DATABASE: uniqueName('tg_secret'), HEP_AUTH_KEY: REFUSED_HEP_AUTH_KEY, API_PORT: '20990', HEP_PORT: '20991',
    }, 'services/main.ts');
    const [code] = await new Promise<[number | null]>((r) => tg.child.once('exit', (c) => r([c])));
    assert.equal(code, 1, tg.output());
    assert.match(tg.output(), /tollgate failed to start/);
    assert.match(tg.output(), /default:<redacted>@|Authentication failed/);
    assert.equal(tg.output().includes(secret), false, tg.output());
    assert.equal(tg.output().includes(REFUSED_HEP_AUTH_KEY), false);
  });
});
