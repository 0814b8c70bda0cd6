/**
 * Every panel and variable query of the ClickHouse dashboards, and every business alert rule, run on the real
 * ClickHouse engine: macros expanded as the plugin's backend does, variables substituted as Grafana does (All, one
 * value, several values), over rows the real analyzer wrote from known HEP traffic sent through a real collector.
 * Key panels are checked to the exact value (ASR of the known call mix, etc.); every query must run and return the
 * columns its panel expects.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { collectorSettings } from '../../services/collector/settings.ts';
import type { CollectorConfig } from '../../services/collector/service.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from '../../services/collector/wiring.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { BUSINESS_RULES } from '../../dashboards/alerts/business-rules.ts';
import { DASHBOARDS } from '../../dashboards/index.ts';
import { PROMETHEUS_UID } from '../../dashboards/lib/common.ts';
import type { MacroContext } from '../../dashboards/lib/macros.ts';
import { sendTcp } from '../support/hep-sender.ts';
import { AnalyzerEnv, baseTimeUs } from './analyzer-harness.ts';
import { PanelRunner, panelQueries, resolveVariables, type Mode, type Result, type Selection } from './dashboards/runner.ts';
import { ensureGuardAndRatingTables } from './dashboards/tables.ts';
import { clockPackets, HIGH_RISK_NUMBER, knownTraffic, SETS, TENANT_DOMAINS } from './dashboards/traffic.ts';

const clickhouseDashboards = (): Dashboard[] => DASHBOARDS.map((d) => d.build())
  .filter((d) => !(d.panels ?? []).every((p) => (p as { datasource?: { uid?: string } }).datasource?.uid === PROMETHEUS_UID));

const n = (v: unknown) => Number(v);
const close = (a: unknown, b: number, eps = 1e-9) => assert.ok(Math.abs(Number(a) - b) <= eps, `${String(a)} ≠ ${b}`);

describe('dashboards and alert rules on the real ClickHouse engine, over rows the real analyzer wrote', { timeout: 300_000 }, () => {
  const env = new AnalyzerEnv();
  const t0 = baseTimeUs();
  const t0ms = t0 / 1000;
  const tag = env.prefix.replace(/[^a-z0-9]/gi, '').slice(-6);
  const traffic = knownTraffic(t0, tag);
  /** The panel range: a minute before the first packet to half an hour after. */
  const ctx: MacroContext = { from: new Date(t0ms - 60_000), to: new Date(t0ms + 30 * 60_000), intervalMs: 60_000 };
  const selection: Selection = {
    single: { tenant: 'acme', node: 'node-a', domain: 'a.example', interval: '60', state: 'answered' },
    multi: { tenant: ['acme', 'beta'], node: ['node-a', 'node-b'], domain: ['a.example', 'pbx.b.example'], state: ['answered', 'busy'] },
    text: {},
  };
  let runner!: PanelRunner;
  let analyzer: AnalyzerConsumer | undefined;
  let wiring: CollectorWiring | undefined;
  let spoolDir = '';
  let tables: { fromMigrations: string[]; fromFallback: string[] } = { fromMigrations: [], fromFallback: [] };
  /** dashboard uid → mode → panel title → result. */
  const results = new Map<string, Map<Mode, Map<string, Result>>>();
  const variableValues = new Map<string, string[]>();

  async function waitForTopics(expected: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    let got = 0;
    while (Date.now() < deadline) {
      got = (await env.endOffsetsSum('hepSip')) + (await env.endOffsetsSum('hepRtcp')) + (await env.endOffsetsSum('hepQos'));
      if (got >= expected) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`collector published ${got} of ${expected} records`);
  }

  before(async () => {
    await env.setup();
    tables = await ensureGuardAndRatingTables(env.store);
    spoolDir = mkdtempSync(join(tmpdir(), 'tg-dash-spool-'));
    const config: CollectorConfig = {
      ...parseSettings(collectorSettings, { PUBLISH_SPOOL_DIR: spoolDir, HEP_HOST: '127.0.0.1' }),
      hepPort: 0,
      kafkaTopicPrefix: env.prefix,
    };
    const kafka = new Kafka({ clientId: 'dashboards-collector', brokers: env.kafkaBrokers, logLevel: logLevel.NOTHING });
    wiring = buildCollectorWithPublisher(config, { client: kafka, brokers: env.kafkaBrokers, clientId: 'dashboards-collector' }, new Registry(), pino({ level: 'silent' }));
    for (const c of wiring.components) await c.start();
    const tcp = wiring.collector.tcp.addresses[0]!;
    const port = Number(tcp.slice(tcp.lastIndexOf(':') + 1));
    await sendTcp('127.0.0.1', port, traffic.packets);
    await waitForTopics(traffic.packets.length);
    // The clock only after every call's packets are in Kafka, so it is the last record of each partition.
    const clock = clockPackets(t0);
    await sendTcp('127.0.0.1', port, clock);
    await waitForTopics(traffic.packets.length + clock.length);
    analyzer = await env.startInProcess({ TENANT_DOMAINS });
    await env.waitCaughtUp();
    await seedGuardAndRating();
    runner = new PanelRunner(env.clickhouseUrl, env.database);
    for (const d of clickhouseDashboards()) {
      const byMode = new Map<Mode, Map<string, Result>>();
      for (const mode of ['all', 'single', 'multi'] as const) {
        const vars = await resolveVariables(runner, d, mode, selection, ctx, (name, values) => {
          if (mode === 'all') variableValues.set(`${d.uid}.${name}`, values);
        });
        const byPanel = new Map<string, Result>();
        for (const q of panelQueries(d)) byPanel.set(`${q.panel}/${q.refId}`, await runner.run(q.sql, vars, ctx));
        byMode.set(mode, byPanel);
      }
      results.set(d.uid!, byMode);
    }
  });

  after(async () => {
    process.stderr.write(`[dashboards] ${runner?.executed ?? 0} statements executed on the engine; guard/rating tables from migrations: [${tables.fromMigrations.join(', ')}], from the test's DDL: [${tables.fromFallback.join(', ')}]\n`);
    await runner?.close();
    await analyzer?.close();
    for (const c of [...(wiring?.components ?? [])].reverse()) await c.close();
    if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
    await env.cleanup();
  });

  async function seedGuardAndRating(): Promise<void> {
    const at = (s: number) => new Date(t0ms + s * 1000).toISOString().replace('T', ' ').replace('Z', '');
    const alert = (id: string, version: number, o: Record<string, unknown>) => ({
      id, version, rule: 'default', resolved_at: null, blocked: [], evidence: '{}', node: 'guard-1', findings: 1, ...o,
    });
    await env.store.insert('alerts', [
      alert('a1', 1, { detector: 'flood', severity: 'warning', state: 'firing', subject_kind: 'ip', subject: '203.0.113.9', tenant: 'acme', first_seen: at(10), last_seen: at(20), findings: 1 }),
      alert('a1', 2, { detector: 'flood', severity: 'critical', state: 'firing', subject_kind: 'ip', subject: '203.0.113.9', tenant: 'acme', first_seen: at(10), last_seen: at(40), findings: 5, blocked: ['203.0.113.9'] }),
      alert('a2', 1, { detector: 'bruteforce', severity: 'warning', state: 'resolved', subject_kind: 'account', subject: 'alice', tenant: 'acme', first_seen: at(15), last_seen: at(25), resolved_at: at(100), findings: 3,
        evidence: JSON.stringify({ count: 12, call_ids: [`reg-0-${tag}`] }) }),
      alert('a3', 1, { detector: 'tollfraud', severity: 'critical', state: 'firing', subject_kind: 'account', subject: 'zoe', tenant: 'beta', first_seen: at(30), last_seen: at(50), findings: 2,
        evidence: JSON.stringify({ count: 20, call_ids: [`hr-0-${tag}`, `hr-1-${tag}`] }) }),
      alert('a4', 1, { detector: 'scanner', severity: 'warning', state: 'firing', subject_kind: 'ip', subject: '203.0.113.9', tenant: 'beta', first_seen: at(35), last_seen: at(45), findings: 7 }),
    ]);
    const audit = (ip: string, s: number, action: string, o: Record<string, unknown> = {}) => ({
      ts: at(s), ip, action, reason: 'test', detector: 'flood', actor: 'guard-1', alert_id: '', ttl_s: 3600, offences: 1, expires_at: null, node: 'guard-1', ...o,
    });
    await env.store.insert('blocklist_audit', [
      audit('203.0.113.9', 40, 'block', { expires_at: at(3600), offences: 2, alert_id: 'a1' }),
      audit('198.51.100.66', 10, 'block', { expires_at: at(3600) }),
      audit('198.51.100.66', 60, 'unblock', { detector: 'manual', actor: 'noc-key' }),
      audit('192.0.2.99', 5, 'block', { expires_at: at(60) }),
    ]);
    const cdr = (unique_id: string, o: Record<string, unknown>) => ({
      unique_id, version: 1, tenant: 'acme', node: 'fs-1', origin_host: 'fs-1', sip_call_id: '', direction: 'outbound', caller: '1001', callee: '',
      account: '1001', subject: '1001', destination: '', category: 'call', request_type: '*prepaid', created_at: at(0), answered_at: null,
      ended_at: at(200), duration_ms: 0, billsec: 0, billmsec: 0, pdd_ms: 0, hangup_cause: 'NORMAL_CLEARING', hangup_cause_q850: 16,
      sip_hangup_disposition: 'send_bye', disposition: 'answered', timing_source: 'event', estimated: false, decision: 'credit', max_usage_ms: 0,
      rating_status: 'rated', rating_error: '', rating_attempts: 1, cost: null, cost_source: '', cgr_id: '', rating_details: '', session_terminated: true,
      ...o,
    });
    await env.store.insert('cdrs', [
      cdr('u1', { sip_call_id: traffic.answeredCallId, destination: '4930', billsec: 60, cost: 0.12, created_at: at(62) }),
      cdr('u2', { destination: '4930', billsec: 90, cost: 0.18, account: '1002', created_at: at(120) }),
      cdr('u3', { destination: '881', billsec: 0, disposition: 'refused', hangup_cause: 'CALL_REJECTED', decision: 'no_credit', rating_status: 'unanswered', created_at: at(130) }),
      cdr('u4', { sip_call_id: `anb-0-${tag}`, tenant: 'beta', account: '2001', destination: '4940', billsec: 60, rating_status: 'failed', rating_error: 'SERVER_ERROR: no tariff', created_at: at(70), version: 1 }),
      // A CDR re-rated after a failure: the later version replaces the failed one.
      cdr('u5', { tenant: 'beta', account: '2001', destination: '4940', billsec: 30, rating_status: 'pending', rating_error: 'timeout', created_at: at(80), version: 1 }),
      cdr('u5', { tenant: 'beta', account: '2001', destination: '4940', billsec: 30, cost: 0.05, rating_status: 'rated', created_at: at(80), version: 2 }),
    ]);
  }

  const panel = (uid: string, mode: Mode, title: string, refId = 'A'): Result => {
    const r = results.get(uid)?.get(mode)?.get(`${title}/${refId}`);
    assert.ok(r, `no result for ${uid} / ${mode} / ${title}/${refId}`);
    return r;
  };

  it('ran every panel query of every ClickHouse dashboard in all three variable modes', () => {
    let queries = 0;
    for (const d of clickhouseDashboards()) {
      const qs = panelQueries(d);
      assert.ok(qs.length > 0, `${d.uid} has ClickHouse panels`);
      for (const mode of ['all', 'single', 'multi'] as const) {
        for (const q of qs) {
          const r = panel(d.uid!, mode, q.panel, q.refId);
          assert.ok(r.columns.length > 0, `${d.uid} ${q.panel}: columns`);
          assert.doesNotMatch(r.sql, /\$/, `${d.uid} ${q.panel}: nothing left unexpanded`);
          // Time series panels return a time column first.
          if (/\bAS time\b/.test(q.sql)) assert.equal(r.columns[0], 'time', `${d.uid} ${q.panel}: time column first`);
        }
        queries += qs.length;
      }
    }
    process.stderr.write(`[dashboards] ${queries} panel and annotation queries (${queries / 3} targets × 3 variable modes) ran on the engine\n`);
  });

  it('variable queries return exactly the tenants, nodes and domains of the traffic', () => {
    assert.deepEqual(variableValues.get('tollgate-noc.tenant'), ['acme', 'beta']);
    assert.deepEqual(variableValues.get('tollgate-noc.node'), ['node-a', 'node-b']);
    assert.deepEqual(variableValues.get('tollgate-noc.domain'), ['a.example', 'pbx.b.example']);
    assert.deepEqual(variableValues.get('tollgate-billing.node'), ['fs-1']);
  });

  const NOC = 'tollgate-noc';
  const acmeCalls = 4 * SETS + 2;
  const betaCalls = 2 * SETS;
  const allCalls = acmeCalls + betaCalls;

  it('NOC overview: attempts, ASR, ACD, NER and PDD of the known mix, exactly', () => {
    for (const mode of ['all', 'multi'] as const) {
      assert.equal(n(panel(NOC, mode, 'Call attempts').rows[0]![0]), allCalls);
      // answered: 10 acme, 2 high-risk, 10 beta.
      close(panel(NOC, mode, 'ASR').rows[0]![0], (SETS + 2 + SETS) / allCalls);
      close(panel(NOC, mode, 'ACD').rows[0]![0], 60.00075, 1e-9);
      // effective: answered 22 + busy 10 + no answer 10 + cancelled 10; the 503s are not.
      close(panel(NOC, mode, 'NER').rows[0]![0], (22 + 30) / allCalls);
      assert.deepEqual(panel(NOC, mode, 'PDD p50 / p95').rows[0]!.map(n), [250.5, 400.25]);
      assert.equal(n(panel(NOC, mode, 'Active registrations').rows[0]![0]), 1);
    }
    // tenant acme, node-a, a.example: the even sets of acme's four calls plus one high-risk call.
    assert.equal(n(panel(NOC, 'single', 'Call attempts').rows[0]![0]), 4 * (SETS / 2) + 1);
    close(panel(NOC, 'single', 'ASR').rows[0]![0], (SETS / 2 + 1) / (4 * (SETS / 2) + 1));
  });

  it('NOC overview: per bucket series, SIP codes, registrations, top lists and the tenant × node table', () => {
    const calls = panel(NOC, 'all', 'Calls per interval');
    assert.deepEqual(calls.columns, ['time', 'call_attempts', 'answered']);
    assert.equal(calls.rows.reduce((s, r) => s + n(r[1]), 0), allCalls);
    const codes = panel(NOC, 'all', 'Final responses by SIP code').objects;
    const byCode = new Map<string, number>();
    for (const r of codes) byCode.set(String(r.code), (byCode.get(String(r.code)) ?? 0) + n(r.calls));
    assert.deepEqual([...byCode].sort(), [['200', 22], ['480', 10], ['486', 10], ['487', 10], ['503', 10]]);
    const regs = panel(NOC, 'all', 'Registrations').rows;
    assert.deepEqual([1, 2, 3].map((i) => regs.reduce((s, r) => s + n(r[i]), 0)), [SETS, SETS, SETS]);
    const failures = panel(NOC, 'all', 'Registration failures by user and source').objects;
    assert.deepEqual(failures.map((r) => [r.aor_user, r.aor_domain, n(r.failures)]), [['zoe', 'pbx.b.example', SETS]]);
    const top = panel(NOC, 'all', 'Top destinations').objects;
    assert.deepEqual(top.map((r) => [r.destination, n(r.calls)]), [['bob', 3 * SETS], ['carol', SETS], ['dave', SETS], ['erin', SETS], [HIGH_RISK_NUMBER, 2]]);
    close(top[0]!.asr, 1 / 3);
    const perNode = panel(NOC, 'all', 'Per tenant and node').objects;
    assert.deepEqual(perNode.map((r) => [r.tenant, r.node, n(r.calls)]),
      [['acme', 'node-a', acmeCalls / 2], ['acme', 'node-b', acmeCalls / 2], ['beta', 'node-a', betaCalls / 2], ['beta', 'node-b', betaCalls / 2]]);
    // Critical guard alerts as annotations: a1 (acme, escalated to critical) and a3 (beta).
    const notes = panel(NOC, 'all', 'annotation: Critical guard alerts', 'Anno');
    assert.deepEqual(notes.columns, ['time', 'timeEnd', 'text', 'tags']);
    assert.deepEqual(notes.objects.map((r) => r.text), ['flood default: ip 203.0.113.9 (firing)', 'tollfraud default: account zoe (firing)']);
    assert.equal(panel(NOC, 'single', 'annotation: Critical guard alerts', 'Anno').rows.length, 1);
    const single = panel(NOC, 'single', 'Per tenant and node').objects;
    assert.deepEqual(single.map((r) => [r.tenant, r.node]), [['acme', 'node-a']]);
  });

  it('Call search: filters by state, and the ladder-linked Call-ID table and its SIP messages', async () => {
    const uid = 'tollgate-call-search';
    assert.equal(panel(uid, 'all', 'Calls').rows.length, allCalls);
    // single: acme, node-a, a.example, state answered.
    assert.equal(panel(uid, 'single', 'Calls').rows.length, SETS / 2 + 1);
    assert.equal(panel(uid, 'all', 'SIP messages of the Call-ID').rows.length, 0);
    const d = DASHBOARDS.find((x) => x.UID === uid)!.build();
    const withText = { ...selection, text: { call_id: traffic.answeredCallId, number: 'bo', ip: '192.0.2.10' } };
    const vars = await resolveVariables(runner, d, 'multi', withText, ctx);
    const [calls, messages] = await Promise.all(panelQueries(d).map((q) => runner.run(q.sql, vars, ctx)));
    assert.deepEqual(calls!.objects.map((r) => [r.call_id, r.state, r.final_status]), [[traffic.answeredCallId, 'answered', 200]]);
    assert.deepEqual(messages!.objects.map((r) => r.message), ['INVITE', '100 Trying', '180 Ringing', '200 OK', 'ACK', 'BYE', '200 OK']);
    // Quotes, backslashes and SQL in a text box stay a string literal.
    const hostile = await resolveVariables(runner, d, 'all', { ...selection, text: {} }, ctx);
    const evil = hostile.map((v) => (v.name === 'number' ? { ...v, current: "x') OR 1=1 -- \\" } : v));
    const none = await runner.run(panelQueries(d)[0]!.sql, evil, ctx);
    assert.equal(none.rows.length, 0);
  });

  it('list variables never offer a value that could leave its SQL string (a SIP domain is attacker-controlled)', async () => {
    // A call an hour before the traffic, with a domain full of quotes and backslashes.
    const at = new Date(t0ms - 3_600_000);
    await env.store.insert('calls', [{
      setup_ts: at.toISOString().replace('T', ' ').replace('Z', ''), end_ts: at.toISOString().replace('T', ' ').replace('Z', ''),
      tenant: 'acme', domain: "x\\'); DROP TABLE calls; --.example", call_id: `evil-${tag}`, nodes: ["node'\\"], state: 'failed',
    }]);
    const hour = { from: new Date(at.getTime() - 60_000), to: new Date(at.getTime() + 60_000), intervalMs: 60_000 };
    const d = DASHBOARDS.find((x) => x.UID === 'tollgate-noc')!.build();
    const offered = new Map<string, string[]>();
    await resolveVariables(runner, d, 'all', selection, hour, (name, values) => offered.set(name, values));
    assert.deepEqual(offered.get('domain'), []);
    // The row is there, in range: the variable query's filter is what kept it out.
    assert.equal(n((await runner.run(`SELECT count() FROM calls WHERE $__timeFilter(setup_ts) AND call_id = 'evil-${tag}'`, [], hour)).rows[0]![0]), 1);
  });

  it('QoS: reports, MOS, loss and jitter of the known media reports; tenant and domain through the call', () => {
    const uid = 'tollgate-qos';
    for (const mode of ['all', 'single', 'multi'] as const) {
      assert.equal(n(panel(uid, mode, 'Reports').rows[0]![0]), 3);
      close(panel(uid, mode, 'Average MOS').rows[0]![0], 4.3, 1e-6);
      // RTCP blocks: 13/256 and 0 lost; the QoS report gives no received count, so no loss fraction.
      close(panel(uid, mode, 'Average loss').rows[0]![0], 13 / 512, 1e-7);
      // Jitter: 40 and 8 RTP units at 8 kHz (5 ms, 1 ms) and 1.5 ms reported.
      close(panel(uid, mode, 'Jitter p95').rows[0]![0], 5);
    }
    const worst = panel(uid, 'all', 'Worst streams').objects;
    assert.deepEqual(worst.map((r) => [r.call_id, n(r.source_ssrc)]), [[traffic.answeredCallId, 22], [traffic.answeredCallId, 33], [traffic.answeredCallId, 0]]);
  });

  it('Security and fraud: latest alert versions, active blocks, attackers, targeted accounts, high-risk calls', () => {
    const uid = 'tollgate-security';
    assert.equal(n(panel(uid, 'all', 'Firing alerts').rows[0]![0]), 3);
    assert.equal(n(panel(uid, 'all', 'Critical alerts').rows[0]![0]), 2);
    assert.equal(n(panel(uid, 'single', 'Critical alerts').rows[0]![0]), 1);
    assert.equal(n(panel(uid, 'all', 'Active blocks').rows[0]![0]), 1);
    assert.deepEqual(panel(uid, 'all', 'Blocked addresses').objects.map((r) => [r.ip, r.blocked_by, n(r.offence_count)]), [['203.0.113.9', 'flood', 2]]);
    assert.equal(n(panel(uid, 'all', 'High-risk calls').rows[0]![0]), 2);
    const alerts = panel(uid, 'all', 'Alerts').objects;
    assert.deepEqual(alerts.map((r) => [r.id, r.severity, r.call_id]), [['a3', 'critical', `hr-0-${tag}`], ['a4', 'warning', ''], ['a1', 'critical', ''], ['a2', 'warning', `reg-0-${tag}`]]);
    const attackers = panel(uid, 'all', 'Top attacking sources').objects;
    assert.deepEqual(attackers.map((r) => [r.source, n(r.alerts), n(r.findings), String(r.detectors).split(',').sort().join(',')]), [['203.0.113.9', 2, 12, 'flood,scanner']]);
    const accounts = panel(uid, 'all', 'Targeted accounts').objects;
    assert.deepEqual(accounts.map((r) => [r.account, r.tenant]), [['alice', 'acme'], ['zoe', 'beta']]);
    const hr = panel(uid, 'all', 'High-risk destinations called').objects;
    assert.deepEqual(hr.map((r) => [r.destination, r.caller, n(r.calls), n(r.answered)]), [[HIGH_RISK_NUMBER, 'alice', 2, 2]]);
  });

  it('Billing: CDRs, minutes, cost, refusals and rating failures from the latest CDR versions', () => {
    const uid = 'tollgate-billing';
    assert.equal(n(panel(uid, 'all', 'CDRs').rows[0]![0]), 5);
    close(panel(uid, 'all', 'Billed minutes').rows[0]![0], (60 + 90 + 60 + 30) / 60);
    close(panel(uid, 'all', 'Cost').rows[0]![0], 0.12 + 0.18 + 0.05, 1e-9);
    assert.equal(n(panel(uid, 'all', 'Prepaid refusals').rows[0]![0]), 1);
    assert.equal(n(panel(uid, 'all', 'Rating failures').rows[0]![0]), 1);
    assert.equal(n(panel(uid, 'single', 'CDRs').rows[0]![0]), 3);
    assert.deepEqual(panel(uid, 'all', 'CDRs not rated').objects.map((r) => [r.unique_id, r.call_id, r.rating_error]), [['u4', `anb-0-${tag}`, 'SERVER_ERROR: no tariff']]);
    const byDest = panel(uid, 'all', 'Cost by destination').objects;
    assert.deepEqual(byDest.map((r) => [r.destination, n(r.cdrs)]), [['4930', 2], ['4940', 2], ['881', 1]]);
  });

  it('business alert rules: each query on the engine and its threshold fire for exactly the expected tenants', async () => {
    const expected: Record<string, string[]> = {
      'tollgate-asr-drop': ['acme'],
      'tollgate-pdd-rise': [],
      'tollgate-registration-failures': ['beta'],
      'tollgate-fraud-critical': ['acme', 'beta'],
      'tollgate-rating-failures': ['beta'],
    };
    for (const r of BUSINESS_RULES) {
      // Evaluated as Grafana would at t0 + window - 60 s: the window covers the whole known traffic.
      const to = new Date(t0ms + r.windowSeconds * 1000 - 60_000);
      const res = await runner.run(r.sql, [], { from: new Date(to.getTime() - r.windowSeconds * 1000), to, intervalMs: 60_000 });
      assert.deepEqual(res.columns, ['tenant', 'value'], r.uid);
      assert.ok(res.rows.length > 0, `${r.uid} returns rows to compare`);
      const firing = res.objects.filter((o) => (r.comparison === 'gt' ? n(o.value) > r.threshold : n(o.value) < r.threshold)).map((o) => String(o.tenant));
      assert.deepEqual(firing, expected[r.uid], r.uid);
    }
  });
});
