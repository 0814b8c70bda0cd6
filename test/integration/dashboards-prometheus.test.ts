/**
 * tollgate's own health monitoring: the generated Prometheus rules pass `promtool check rules`, every alert fires in
 * `promtool test rules` on input series made for it (and stays quiet before), and every metric name a rule or a
 * health panel reads is exported by the live `/metrics` of a running collector and analyzer (standalone entries).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { HEALTH_RULES, metricNames, type PrometheusRule } from '../../dashboards/alerts/health-rules.ts';
import * as health from '../../dashboards/health.ts';
import { OUTPUT } from '../../dashboards/index.ts';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { freePort } from '../support/ports.ts';
import { ensureLocalStack, uniqueName } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = join(ROOT, OUTPUT.prometheusRules);
const run = promisify(execFile);
const PROMTOOL = join(process.env.TOLLGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tollgate'), 'promtool-v0.316.0', 'bin', 'promtool');

/** Input series per alert: `fires` is when it must be firing with `labels`; before `quietUntil` it must not. */
interface AlertCase {
  readonly series: Array<{ series: string; values: string }>;
  readonly fires: string;
  readonly quietAt: string;
  readonly labels: Record<string, string>;
}

const CASES: Record<string, AlertCase> = {
  TollgateCaptureDrops: {
    series: [
      { series: 'tollgate_collector_dropped_total{service="collector",node="col-1",reason="queue_full"}', values: '0x4 10+10x10' },
      { series: 'tollgate_collector_dropped_total{service="collector",node="col-2",reason="spool_full"}', values: '3x15' },
    ],
    quietAt: '3m', fires: '8m', labels: { node: 'col-1', reason: 'queue_full' },
  },
  TollgateKernelUdpDrops: {
    series: [{ series: 'tollgate_collector_kernel_udp_rcvbuf_errors{service="collector",node="col-1",family="ipv4"}', values: '500 500 500 600+100x20' }],
    quietAt: '2m', fires: '12m', labels: { node: 'col-1' },
  },
  TollgateSpoolGrowing: {
    series: [
      { series: 'tollgate_collector_spool_bytes{service="collector",node="col-1"}', values: '0x5 1000+1000x30' },
      { series: 'tollgate_collector_spool_bytes{service="collector",node="col-2"}', values: '5000x35' },
    ],
    quietAt: '4m', fires: '25m', labels: { node: 'col-1' },
  },
  TollgateConsumerLag: {
    series: [
      { series: 'tollgate_analyzer_consumer_lag{service="analyzer",node="an-1",topic="tg.hep.sip",partition="0"}', values: '100x3 15000x20' },
      { series: 'tollgate_analyzer_consumer_lag{service="analyzer",node="an-1",topic="tg.hep.sip",partition="1"}', values: '100x23' },
    ],
    quietAt: '5m', fires: '20m', labels: { node: 'an-1', topic: 'tg.hep.sip' },
  },
  TollgateAnalyzerStalled: {
    series: [
      { series: 'tollgate_analyzer_last_commit_age_seconds{service="analyzer",node="an-1"}', values: '0+60x25' },
      { series: 'tollgate_analyzer_consumer_lag{service="analyzer",node="an-1",topic="tg.hep.sip",partition="0"}', values: '50x25' },
    ],
    quietAt: '5m', fires: '15m', labels: { node: 'an-1' },
  },
  TollgateKafkaUnreachable: {
    series: [{ series: 'tollgate_collector_kafka_send_failures_total{service="collector",node="col-1"}', values: '0x3 1+1x20' }],
    quietAt: '2m', fires: '15m', labels: { node: 'col-1' },
  },
  TollgateClickHouseUnreachable: {
    series: [{ series: 'tollgate_analyzer_insert_failures_total{service="analyzer",node="an-1",table="calls"}', values: '0x3 2+2x20' }],
    quietAt: '2m', fires: '15m', labels: { node: 'an-1' },
  },
  TollgateEdgeProxyUnreachable: {
    series: [
      { series: 'tollgate_guard_edge_up{service="guard",node="guard-1",proxy="http://10.0.0.5:5071/RPC"}', values: '1x3 0x10' },
      { series: 'tollgate_guard_edge_up{service="guard",node="guard-1",proxy="http://10.0.0.6:8888/mi"}', values: '1x13' },
    ],
    quietAt: '3m', fires: '8m', labels: { node: 'guard-1', proxy: 'http://10.0.0.5:5071/RPC' },
  },
  TollgateFreeswitchDisconnected: {
    series: [{ series: 'tollgate_rating_esl_connected{service="rating",node="fs-1"}', values: '1x3 0x10' }],
    quietAt: '3m', fires: '8m', labels: { node: 'fs-1' },
  },
  TollgateCgratesUnreachable: {
    series: [{ series: 'tollgate_rating_retry_queue{service="rating",node="rating-1"}', values: '0x3 4+1x30' }],
    quietAt: '10m', fires: '25m', labels: { node: 'rating-1' },
  },
  TollgateProcessDown: {
    series: [
      { series: 'up{job="tollgate",instance="tollgate:8080"}', values: '1x3 0x10' },
      { series: 'up{job="tollgate",instance="collector-2:9464"}', values: '1x13' },
    ],
    quietAt: '4m', fires: '10m', labels: { job: 'tollgate', instance: 'tollgate:8080' },
  },
};

/** Alertmanager-style templating of `{{ $labels.x }}` for the expected annotations. */
const render = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '');

function unitTests(rulesFile: string): string {
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: HEALTH_RULES.map((r: PrometheusRule) => {
      const c = CASES[r.alert]!;
      return {
        interval: '1m',
        input_series: c.series,
        alert_rule_test: [
          { eval_time: c.quietAt, alertname: r.alert, exp_alerts: [] },
          {
            eval_time: c.fires, alertname: r.alert,
            exp_alerts: [{
              exp_labels: { ...c.labels, severity: r.severity, source: 'tollgate' },
              exp_annotations: { summary: render(r.summary, c.labels), description: render(r.description, c.labels), runbook_url: r.runbook },
            }],
          },
        ],
      };
    }),
  }, { lineWidth: 0 });
}

describe('Prometheus health rules with promtool', () => {
  const skip = existsSync(PROMTOOL) ? false : `promtool not built at ${PROMTOOL}: run npm run setup (scripts/setup.d/promtool.sh)`;
  if (skip) process.stderr.write(`[dashboards] skipping promtool checks: ${skip}\n`);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tg-promtool-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every alert has a test case', () => {
    assert.deepEqual(Object.keys(CASES).sort(), HEALTH_RULES.map((r) => r.alert).sort());
  });

  it('promtool check rules accepts the generated file', { skip }, async () => {
    const { stdout } = await run(PROMTOOL, ['check', 'rules', RULES]);
    assert.match(stdout, new RegExp(`SUCCESS: ${HEALTH_RULES.length} rules found`));
  });

  it('promtool test rules: every alert fires on its input series and is quiet before', { skip }, async () => {
    const file = join(dir, 'tollgate.rules.test.yml');
    writeFileSync(file, unitTests(RULES));
    const res = await run(PROMTOOL, ['test', 'rules', file]).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
    assert.match(res.stdout, /SUCCESS/);
  });

  it('promtool parses every health panel query (as recording rules, with the dashboard variables filled in)', { skip }, async () => {
    const exprs = (health.build().panels ?? []).flatMap((p) => ((p as { targets?: Array<{ expr?: string }> }).targets ?? []).map((t) => t.expr ?? ''));
    assert.ok(exprs.length >= 20);
    const file = join(dir, 'panels.rules.yml');
    writeFileSync(file, stringify({
      groups: [{
        name: 'health-panels',
        rules: exprs.map((e, i) => ({ record: `tollgate:health_panel_${i}`, expr: e.replaceAll('$__rate_interval', '1m').replaceAll('$node', '.*') })),
      }],
    }));
    const { stdout } = await run(PROMTOOL, ['check', 'rules', file]);
    assert.match(stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });

  it('promtool test rules fails when an alert does not fire as expected (the tests can fail)', { skip }, async () => {
    const file = join(dir, 'broken.test.yml');
    writeFileSync(file, unitTests(RULES).replace("eval_time: 8m", 'eval_time: 2m'));
    await assert.rejects(run(PROMTOOL, ['test', 'rules', file]));
  });
});

const listTs = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? listTs(p) : p.endsWith('.ts') ? [p] : [];
});

/** Every metric name a health rule, health panel or health variable reads. */
function usedMetricNames(): Map<string, string> {
  const used = new Map<string, string>();
  for (const r of HEALTH_RULES) for (const m of metricNames(r.expr)) used.set(m, `rule ${r.alert}`);
  const d = health.build();
  for (const p of d.panels ?? []) {
    for (const t of (p as { targets?: Array<{ expr?: string }> }).targets ?? []) for (const m of metricNames(t.expr ?? '')) used.set(m, `panel ${(p as { title?: string }).title}`);
  }
  for (const v of d.templating?.list ?? []) {
    const q = (v as { query?: { query?: string } }).query?.query ?? '';
    for (const m of q.matchAll(/label_values\((\w+)/g)) used.set(m[1]!, `variable ${v.name}`);
  }
  return used;
}

describe('metric names in health rules and panels exist in the live /metrics of running services', { timeout: 180_000 }, () => {
  const children: ChildProcess[] = [];
  const database = uniqueName('tg_dash_metrics');
  const exported = new Set<string>();
  let clickhouseUrl = '';

  async function startAndScrape(entry: string, env: Record<string, string>): Promise<void> {
    const metricsPort = await freePort();
    let stderr = '';
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', METRICS_PORT: String(metricsPort), ...env },
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    children.push(child);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}: ${stderr}`);
      const body = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
      if (body.includes('# TYPE tollgate_')) {
        for (const m of body.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
          exported.add(m[1]!);
          if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m[1]}${s}`);
        }
        return;
      }
      if (Date.now() > deadline) throw new Error(`${entry}: no /metrics on ${metricsPort} after 90 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  before(async () => {
    const stack = await ensureLocalStack();
    clickhouseUrl = stack.clickhouseUrl;
    const common = { KAFKA_BROKERS: stack.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: `${uniqueName('dm')}.`, KAFKA_PARTITIONS: '1' };
    await startAndScrape('services/collector/main.ts', { ...common, HEP_HOST: '127.0.0.1', HEP_PORT: String(await freePort()), PUBLISH_SPOOL_DIR: mkdtempSync(join(tmpdir(), 'tg-dm-spool-')) });
    await startAndScrape('services/analyzer/main.ts', { ...common, CLICKHOUSE_URL: clickhouseUrl, CLICKHOUSE_DATABASE: database, ANALYZER_GROUP_ID: uniqueName('dm') });
  });

  after(async () => {
    for (const c of children) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    const admin = createClickhouseStore({ url: clickhouseUrl, user: 'default' });
    await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database }).catch(() => undefined);
    await admin.close();
  });

  /** Names of the guard and rating services, which run as their own processes with their own peers. */
  const OTHER_SERVICE = /^tollgate_(guard|rating)_/;

  it('every collector, analyzer and process name is exported (up is written by Prometheus itself)', () => {
    const used = usedMetricNames();
    assert.ok(used.size >= 15, `found ${used.size} metric names`);
    const missing = [...used].filter(([name]) => name !== 'up' && !OTHER_SERVICE.test(name) && !exported.has(name)).map(([name, where]) => `${name} (${where})`);
    assert.deepEqual(missing, []);
    assert.ok(!exported.has('tollgate_guard_blocks_total'), 'the collector and analyzer do not export guard metrics');
  });

  for (const svc of ['guard', 'rating'] as const) {
    const main = join(ROOT, 'services', svc, 'main.ts');
    const skip = existsSync(main) ? false : `services/${svc}/main.ts is not in this tree (built on its own branch)`;
    it(`every ${svc} metric name is registered by the ${svc} service`, { skip }, () => {
      const src = listTs(join(ROOT, 'services', svc)).map((f) => readFileSync(f, 'utf8')).join('\n');
      const declared = new Set([...src.matchAll(/name: '(tollgate_[a-z0-9_]+)'/g)].map((m) => m[1]!));
      const names = [...usedMetricNames()].filter(([name]) => name.startsWith(`tollgate_${svc}_`));
      assert.ok(names.length > 0);
      const missing = names.filter(([name]) => !declared.has(name.replace(/_(bucket|sum|count)$/, ''))).map(([name, where]) => `${name} (${where})`);
      assert.deepEqual(missing, []);
    });
  }
});
