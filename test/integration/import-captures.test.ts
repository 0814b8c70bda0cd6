/**
 * Real captures (test/fixtures/pcap, from sngrep's and heplify's test data) through the importer, checked against
 * tshark as the independent dissector — requests per method, responses per status code and the Call-IDs must match
 * exactly — and against call and registration records checked by hand. One capture (a 2005 softphone trace, years
 * older than every retention) then goes all the way: importer → Kafka → analyzer → ClickHouse.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DialogTracker, RegistrationTracker, type CallRecord, type RegistrationRecord } from '../../services/analyzer/correlation/index.ts';
import { parseSip } from '../../services/analyzer/sip/index.ts';
import { SipExtractor } from '../../services/importer/pcap/extract.ts';
import { CaptureReader } from '../../services/importer/pcap/reader.ts';
import { importCapture } from '../../services/importer/import.ts';
import { KafkaRecordProducer } from '../../services/shared/kafka/kafkajs-producer.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

const DIR = fileURLToPath(new URL('../fixtures/pcap/', import.meta.url));

interface Counts {
  methods: Record<string, number>;
  statuses: Record<string, number>;
  callIds: string[];
}

function tally(list: Array<[string, string | undefined]>, callIds: Iterable<string>): Counts {
  const methods: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  for (const [kind, v] of list) {
    if (v === undefined) continue;
    const t = kind === 'm' ? methods : statuses;
    t[v] = (t[v] ?? 0) + 1;
  }
  return { methods, statuses, callIds: [...new Set(callIds)].sort() };
}

/** tshark's view: every SIP message it dissects (TCP reassembled), `-d` for SIP on a non-standard port. */
function tshark(file: string, extra: string[], filter: string): Counts {
  const out = execFileSync('tshark', ['-r', `${DIR}${file}`, ...extra, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=\u0001',
    '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'sip.Call-ID'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const list: Array<[string, string]> = [];
  const ids: string[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [m = '', s = '', c = ''] = line.split('\t');
    for (const x of m.split('\u0001')) if (x !== '') list.push(['m', x]);
    for (const x of s.split('\u0001')) if (x !== '') list.push(['s', x]);
    for (const x of c.split('\u0001')) if (x !== '') ids.push(x);
  }
  return tally(list, ids);
}

interface Ours extends Counts {
  messages: number;
  quarantined: number;
  packets: number;
  calls: CallRecord[];
  registrations: RegistrationRecord[];
}

/** tollgate's view: the importer's extraction, parsed and correlated by the analyzer's own parser and trackers. */
function ours(file: string): Ours {
  const r = new CaptureReader();
  const ex = new SipExtractor();
  const d = new DialogTracker();
  const g = new RegistrationTracker();
  const list: Array<[string, string]> = [];
  const ids: string[] = [];
  const calls: CallRecord[] = [];
  const registrations: RegistrationRecord[] = [];
  let messages = 0;
  let quarantined = 0;
  let seq = 0;
  for (const f of r.push(readFileSync(`${DIR}${file}`))) {
    for (const it of ex.frame(f)) {
      if (it.kind !== 'sip') continue;
      messages++;
      const p = parseSip(it.payload);
      if (!p.ok) {
        quarantined++;
        continue;
      }
      const m = p.message;
      list.push(m.kind === 'request' ? ['m', m.method] : ['s', String(m.statusCode)]);
      ids.push(m.callId);
      const o = { message: m, tsUs: it.tsUs, srcIp: it.src, srcPort: it.srcPort, dstIp: it.dst, dstPort: it.dstPort,
        transport: it.transport.toUpperCase(), captureId: 1, node: '', seq: seq++ };
      calls.push(...d.observe(o));
      registrations.push(...g.observe(o));
    }
  }
  r.finish();
  ex.finish();
  calls.push(...d.advanceTo(Number.MAX_SAFE_INTEGER));
  registrations.push(...g.advanceTo(Number.MAX_SAFE_INTEGER));
  return { ...tally(list, ids), messages, quarantined, packets: ex.frames, calls, registrations };
}

const count = <T>(xs: readonly T[], key: (x: T) => string): Record<string, number> =>
  xs.reduce<Record<string, number>>((a, x) => ({ ...a, [key(x)]: (a[key(x)] ?? 0) + 1 }), {});

interface Case {
  file: string;
  tsharkArgs?: string[];
  /** What tshark counts that tollgate does not import (said in the fixtures README). */
  filter?: string;
  messages: number;
  calls: Record<string, number>;
  registrations: Record<string, number>;
  check?: (o: Ours) => void;
}

const CASES: Case[] = [
  {
    file: 'sngrep-aaa.pcap', messages: 81,
    calls: { cancelled: 1, rejected: 2, no_answer: 1 }, registrations: { challenge: 9, auth_failed: 6, registered: 3 },
    check: (o) => {
      // Three attempts challenged with 407 and retried 32 s, 51 s and 17 s later: one call each, not two.
      const byId = Object.fromEntries(o.calls.map((c) => [c.call_id.split('-')[0], [c.state, c.final_status, c.attempts, c.auth_challenges]]));
      assert.deepEqual(byId, {
        105090259: ['cancelled', 408, 1, 0], 85216695: ['rejected', 403, 2, 1], 24487391: ['rejected', 403, 2, 1], 11894297: ['no_answer', 480, 2, 1],
      });
      assert.equal(o.packets, 691);
    },
  },
  { file: 'sngrep-ipv6frag.pcap', messages: 32, calls: { answered: 1 }, registrations: {} },
  { file: 'sngrep-ipip.pcap', messages: 4, calls: { answered: 1 }, registrations: {} },
  { file: 'heplify-sip_ipv4_tcp.pcap', messages: 7, calls: { answered: 1 }, registrations: {} },
  { file: 'heplify-sip_ipv4_tcp_retrans.pcap', messages: 8, calls: {}, registrations: { challenge: 1, registered: 1 } },
  {
    // Checked with tshark filters: of the 37 INVITE dialogs that start in the capture, 12 end with BYE, 20 are
    // answered and still up when the capture ends (frame 722: 200, frame 726: ACK, then nothing), one 487, one 403,
    // three without final response; the other 33 Call-IDs began before the capture (in-dialog requests only).
    file: 'heplify-sip_ipv4_tcp_fragmented.pcap', tsharkArgs: ['-d', 'tcp.port==6060,sip'], messages: 406,
    calls: { answered: 12, cancelled: 1, rejected: 1, no_final_response: 3, timeout_without_bye: 20 }, registrations: {},
  },
  { file: 'heplify-sip_ipv6_udp.pcap', messages: 6, calls: { no_final_response: 1 }, registrations: {} },
  { file: 'heplify-sip_tcp_websocket.pcap', filter: 'sip && !websocket', messages: 28, calls: { answered: 2 }, registrations: {} },
];

describe('real captures: tollgate against tshark and hand-checked records', { timeout: 120_000 }, () => {
  const report: string[] = [];
  after(() => process.stderr.write(`[import-captures]\n${report.join('\n')}\n`));

  for (const c of CASES) {
    it(`${c.file}: ${c.messages} messages, methods/statuses/Call-IDs as tshark, ${Object.values(c.calls).reduce((a, b) => a + b, 0)} calls`, () => {
      const t = tshark(c.file, c.tsharkArgs ?? [], c.filter ?? 'sip');
      const o = ours(c.file);
      assert.deepEqual(o.methods, t.methods, 'requests per method');
      assert.deepEqual(o.statuses, t.statuses, 'responses per status');
      assert.deepEqual(o.callIds, t.callIds, 'Call-IDs');
      assert.equal(o.messages, c.messages);
      assert.equal(o.quarantined, 0);
      assert.deepEqual(count(o.calls, (x) => x.state), c.calls);
      assert.deepEqual(count(o.registrations, (x) => x.outcome), c.registrations);
      c.check?.(o);
      const tn = Object.values(t.methods).reduce((a, b) => a + b, 0) + Object.values(t.statuses).reduce((a, b) => a + b, 0);
      report.push(`  ${c.file}: messages tshark ${tn} / tollgate ${o.messages}; Call-IDs ${o.callIds.length}; calls ${o.calls.length}; registrations ${o.registrations.length}`);
    });
  }
});

describe('npm run import of a 2005 capture: importer → Kafka → analyzer → ClickHouse', { timeout: 180_000 }, () => {
  const env = new AnalyzerEnv();
  let analyzer: Awaited<ReturnType<AnalyzerEnv['startInProcess']>> | undefined;

  before(async () => {
    await env.setup();
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '200ms' });
  });

  after(async () => {
    await analyzer?.close();
    await env.cleanup();
  });

  it('stores all 81 messages with their 2005 times, 4 calls and 18 registrations', async () => {
    const producer = new KafkaRecordProducer({ kafka: env.kafka });
    await producer.connect();
    let summary;
    try {
      summary = await importCapture({ path: `${DIR}sngrep-aaa.pcap`, topicPrefix: env.prefix, send: (b) => producer.send(b) });
    } finally {
      await producer.disconnect();
    }
    assert.equal(summary.packets, 691);
    assert.equal(summary.sipMessages, 81);
    assert.equal(summary.published, 81);
    assert.equal(summary.calls, 4);
    assert.equal(summary.registrations, 18);
    assert.equal(Object.values(summary.skipped).reduce((a, b) => a + b, 0), 691 - 81);
    await env.waitCaughtUp(120_000);
    await env.waitForRows({ calls: 4, registrations: 18 });
    for (const t of ['sip_messages', 'calls', 'registrations']) await env.store.command('OPTIMIZE TABLE {t:Identifier} FINAL', { t });
    assert.equal(await env.count('sip_messages'), 81);
    assert.equal(await env.count('sip_messages', 'toYear(ts) = 2005 AND node = {n:String}', { n: 'pcap:sngrep-aaa.pcap' }), 81);
    assert.equal(await env.count('sip_quarantine'), 0);
    const t = tshark('sngrep-aaa.pcap', [], 'sip');
    const rows = await env.store.query<{ kind: string; k: string; n: string }>(
      "SELECT kind, if(kind = 'request', method, toString(status)) AS k, count() AS n FROM sip_messages GROUP BY kind, k");
    assert.deepEqual(Object.fromEntries(rows.filter((r) => r.kind === 'request').map((r) => [r.k, Number(r.n)])), t.methods);
    assert.deepEqual(Object.fromEntries(rows.filter((r) => r.kind === 'response').map((r) => [r.k, Number(r.n)])), t.statuses);
    const calls = await env.store.query<{ state: string; n: string; a: string; c: string }>(
      'SELECT state, count() AS n, sum(attempts) AS a, sum(auth_challenges) AS c FROM calls GROUP BY state ORDER BY state');
    assert.deepEqual(calls.map((r) => [r.state, Number(r.n), Number(r.a), Number(r.c)]),
      [['cancelled', 1, 1, 0], ['no_answer', 1, 2, 1], ['rejected', 2, 4, 2]]);
    assert.equal(await env.count('registrations'), 18);
    // The per-minute rollups keep 400 days of capture time: a 2005 capture is in the detail tables only (and counted
    // in tollgate_analyzer_rows_not_kept_total{reason="capture_older_than_rollup_retention"}).
    const [roll] = await env.store.query<{ attempts: string; answered: string }>('SELECT sum(attempts) AS attempts, sum(answered) AS answered FROM calls_minute');
    assert.deepEqual([Number(roll!.attempts), Number(roll!.answered)], [0, 0], 'a 2005 capture is older than the rollups keep');
    process.stderr.write(`[import-captures] sngrep-aaa.pcap imported in ${summary.seconds.toFixed(2)} s: 81 of 81 messages stored with their 2005 capture times, 4 calls, 18 registrations; skipped ${JSON.stringify(summary.skipped)}\n`);
  });
});
