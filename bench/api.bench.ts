/**
 * The API over a large store: p50/p99 of `GET /v1/calls` searches over 1 M stored calls, of the ladder of a
 * 30-message call, and CSV export rows/s with the heap sampled during exports of two sizes (flat memory = the
 * peak does not grow with the export). The rows are seeded with one INSERT … SELECT FROM numbers() on the engine;
 * the API is built as in production (buildApiServer) and called over loopback HTTP with keep-alive. The anchor is
 * the same search statement sent straight to ClickHouse in the same run, so "API overhead" is a ratio.
 *
 *   npx tsx bench/api.bench.ts [--calls 1000000] [--requests 40] [--keep]
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApiServer } from '../services/api/service.ts';
import { apiSettings } from '../services/api/settings.ts';
import { chTime } from '../services/api/paging.ts';
import { createClickhouseStore } from '../services/shared/clickhouse/client.ts';
import { migrate } from '../services/shared/clickhouse/migrations.ts';
import { parseSettings } from '../services/shared/config/settings.ts';
import { ensureLocalStack, uniqueName } from '../test/support/stack.ts';

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, requests: { type: 'string', default: '40' }, keep: { type: 'boolean', default: false } } });
const CALLS = Number(args.calls);
const N = Number(args.requests);
const KEY = 'bench-key-0123456789abcdef0123';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

const { clickhouseUrl } = await ensureLocalStack();
const database = uniqueName('tg_apibench');
const admin = createClickhouseStore({ url: clickhouseUrl, user: 'default' });
const store = createClickhouseStore({ url: clickhouseUrl, user: 'default', database, requestTimeoutMs: 600_000 });
await migrate({ admin, store, database, dir: `${ROOT}sql/` });
try {

const nowMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const t0 = chTime(nowMs * 1000);
const spacingUs = Math.floor(86_400_000_000 / CALLS);
const STATES = "['answered','busy','no_answer','cancelled','rejected']";
const CODES = '[200,486,480,487,403]';
progress(`seeding ${CALLS} calls over the last 24 h into ${database} (one INSERT … SELECT FROM numbers())`);
let t = performance.now();
await store.command(`
INSERT INTO calls (setup_ts, tenant, domain, call_id, from_tag, to_tag, from_user, from_domain, from_display, to_user, to_domain,
  ruri_user, ruri_domain, src_ip, src_port, dst_ip, dst_port, transport, user_agent, first_provisional_ts, ring_ts, pdd_ms,
  answer_ts, ack_seen, end_ts, duration_ms, final_status, final_reason, state, end_reason, hangup_side, attempts,
  auth_challenges, redirects, reinvites, linked_call_id, linked_source, capture_ids, nodes, hops, retransmissions, messages, kafka_partition)
SELECT
  {t0:DateTime64(6)} - toIntervalMicrosecond(number * {sp:UInt64}) AS setup_ts,
  concat('t', toString(number % 10)), concat('d', toString(number % 10), '.example'),
  concat('bench-', toString(number), '@10.0.', toString(number % 250), '.1'), concat('ft', toString(number)), concat('tt', toString(number)),
  concat('49', toString(3000000000 + (number * 7919) % 1000000000)), 'a.example', '',
  concat('49', toString(4000000000 + (number * 104729) % 1000000000)), 'b.example',
  concat('49', toString(4000000000 + (number * 104729) % 1000000000)), 'b.example',
  concat('10.0.', toString(number % 250), '.', toString(number % 200 + 1)), 5060, '192.0.2.1', 5060, 'UDP', 'bench-ua/1.0',
  setup_ts + toIntervalMillisecond(20), setup_ts + toIntervalMillisecond(250), 250.5,
  if(number % 5 = 0, setup_ts + toIntervalSecond(2), NULL), number % 5 = 0, setup_ts + toIntervalSecond(60),
  if(number % 5 = 0, 58000.0, NULL), ${CODES}[number % 5 + 1], '', ${STATES}[number % 5 + 1], 'bye', 'caller',
  1, 0, 0, 0, '', '', [2001], ['proxy-1'], 1, 0, 7, number % 6
FROM numbers({n:UInt64})`, { t0, sp: spacingUs, n: CALLS });
progress(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// One 30-message call (INVITE, 100, 18x, retransmissions, 200, ACK, re-INVITEs, BYE …) for the ladder.
const LADDER_CALL = 'ladder-30@10.0.0.1';
await store.command(`
INSERT INTO sip_messages (ts, received_at, tenant, domain, kind, method, status, reason, call_id, cseq_num, cseq_method, from_user,
  from_domain, from_tag, to_user, to_domain, to_tag, ruri_user, ruri_domain, src_ip, src_port, dst_ip, dst_port, transport, via_branch,
  user_agent, auth_user, capture_id, node, correlation_id, warnings, raw, kafka_partition, kafka_offset)
SELECT {t0:DateTime64(6)} - toIntervalSecond(600) + toIntervalMillisecond(number * 120), now64(6), 't1', 'd1.example',
  if(number % 2 = 0, 'request', 'response'), if(number % 2 = 0, ['INVITE','ACK','BYE','INFO'][intDiv(number % 8, 2) + 1], 'INVITE'),
  if(number % 2 = 0, 0, [100,180,183,200][intDiv(number % 8, 2) + 1]), if(number % 2 = 0, '', ['Trying','Ringing','Session Progress','OK'][intDiv(number % 8, 2) + 1]),
  {cid:String}, intDiv(number, 2) + 1, 'INVITE', '4930111222', 'a.example', 'ft1', '4940333444', 'b.example', '', '4940333444', 'b.example',
  if(number % 2 = 0, ['10.0.0.1','192.0.2.1','192.0.2.2'][number % 3 + 1], ['192.0.2.1','192.0.2.2','198.51.100.9'][number % 3 + 1]), 5060,
  if(number % 2 = 0, ['192.0.2.1','192.0.2.2','198.51.100.9'][number % 3 + 1], ['10.0.0.1','192.0.2.1','192.0.2.2'][number % 3 + 1]), 5060,
  'UDP', concat('z9hG4bK', toString(number)), 'bench-ua/1.0', '', 2001, ['proxy-1','sbc-1'][number % 2 + 1], '', [],
  concat(if(number % 2 = 0, 'INVITE sip:4940333444@b.example SIP/2.0', 'SIP/2.0 180 Ringing'), '\\r\\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK', toString(number),
    '\\r\\nFrom: <sip:4930111222@a.example>;tag=ft1\\r\\nTo: <sip:4940333444@b.example>\\r\\nCall-ID: ', {cid:String},
    '\\r\\nCSeq: 1 INVITE\\r\\nUser-Agent: bench-ua/1.0\\r\\n', repeat('X-Pad: 0123456789abcdef\\r\\n', 12), 'Content-Length: 0\\r\\n\\r\\n'),
  0, number
FROM numbers(30)`, { t0, cid: LADDER_CALL });

const config = parseSettings(apiSettings, { API_KEYS: `bench:${KEY}:admin`, API_RATE_LIMIT: '1000000', API_PORT: '1' });
const api = buildApiServer({ ...config, apiPort: 0 } as typeof config, { store, log: pino({ level: 'warn' }), registry: new Registry(), health: () => ({ status: 'ok', components: {} }) });
await api.start();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(path: string, onData?: (chunk: Buffer) => void): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: api.port, path, agent, headers: { authorization: `Bearer ${KEY}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => (onData ? onData(c) : chunks.push(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`${path}: response aborted`)));
    });
    req.on('error', reject);
  });
}

const q = (ms: number[], p: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
async function measure(name: string, path: () => string, n = N): Promise<{ p50: number; p99: number; items: number }> {
  for (let i = 0; i < 3; i++) await request(path());
  const ms: number[] = [];
  let items = 0;
  for (let i = 0; i < n; i++) {
    const r = await request(path());
    if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.body.toString().slice(0, 300)}`);
    ms.push(r.ms);
    if (i === 0 && r.body[0] === 0x7b) items = (JSON.parse(r.body.toString()) as { items?: unknown[] }).items?.length ?? 0;
  }
  const res = { p50: q(ms, 0.5), p99: q(ms, 0.99), items };
  progress(`${name}: p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms (${n} requests)`);
  return res;
}

const from = new Date(nowMs - 86_400_000).toISOString();
const to = new Date(nowMs + 60_000).toISOString();
const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
let k = 0;
const results: Record<string, { p50: number; p99: number; items: number }> = {};

// Anchor: the same first-page statement straight to ClickHouse (no HTTP API, no JSON rendering).
{
  const { searchCalls } = await import('../services/api/calls/queries.ts');
  const rangeUs = { fromUs: (nowMs - 86_400_000) * 1000, toUs: (nowMs + 60_000) * 1000 };
  for (let i = 0; i < 3; i++) await searchCalls(store, {}, rangeUs, undefined, 101);
  const ms: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await searchCalls(store, {}, rangeUs, undefined, 101);
    ms.push(performance.now() - s);
  }
  results['anchor: same search straight to ClickHouse'] = { p50: q(ms, 0.5), p99: q(ms, 0.99), items: 101 };
  progress(`anchor: p50 ${q(ms, 0.5).toFixed(1)} ms, p99 ${q(ms, 0.99).toFixed(1)} ms`);
}
results['GET /v1/calls (24 h, newest 100)'] = await measure('newest page', () => `/v1/calls?${range}`);
results['GET /v1/calls tenant + state'] = await measure('tenant+state', () => `/v1/calls?${range}&tenant=t${k++ % 10}&state=busy`);
results['GET /v1/calls caller_prefix'] = await measure('caller prefix', () => `/v1/calls?${range}&caller_prefix=4930${(k++ % 90) + 10}`);
results['GET /v1/calls call_id'] = await measure('call_id', () => `/v1/calls?${range}&call_id=${encodeURIComponent(`bench-${(k++ * 7919) % CALLS}@10.0.${((k * 7919) % CALLS) % 250}.1`)}`);
results['GET /v1/calls src_ip'] = await measure('src_ip', () => `/v1/calls?${range}&src_ip=10.0.${k++ % 250}.7`);
{
  // Deep pages: follow `next` 20 pages in, then time the next page.
  let path = `/v1/calls?${range}&limit=100`;
  for (let i = 0; i < 20; i++) {
    const next = (JSON.parse((await request(path)).body.toString()) as { next: string }).next;
    const u = new URL(next);
    path = `${u.pathname}${u.search}`;
  }
  const deep = path;
  results['GET /v1/calls page 21 (keyset cursor)'] = await measure('page 21', () => deep);
}
results['GET /v1/calls/{id}/ladder.svg (30 messages)'] = await measure('ladder 30', () => `/v1/calls/${encodeURIComponent(LADDER_CALL)}/ladder.svg`);
results['GET /v1/calls/{id}/ladder.svg?format=html (30 messages)'] = await measure('ladder html 30', () => `/v1/calls/${encodeURIComponent(LADDER_CALL)}/ladder.svg?format=html`);

// CSV export: two sizes, heap sampled every 20 ms during each.
async function exportCsv(path: string): Promise<{ rows: number; seconds: number; rowsPerSec: number; peakHeapMb: number; baseHeapMb: number }> {
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 20);
  let lines = 0;
  const started = performance.now();
  const r = await request(path, (c) => { for (let i = 0; i < c.length; i++) if (c[i] === 0x0a) lines++; });
  clearInterval(timer);
  if (r.status !== 200) throw new Error(`export ${r.status}`);
  const seconds = (performance.now() - started) / 1000;
  return { rows: lines - 1, seconds, rowsPerSec: (lines - 1) / seconds, peakHeapMb: (peak - base) / 1048576, baseHeapMb: base / 1048576 };
}
const small = await exportCsv(`/v1/calls?from=${encodeURIComponent(new Date(nowMs - 21_600_000).toISOString())}&to=${encodeURIComponent(to)}&tenant=t1&format=csv`);
const large = await exportCsv(`/v1/calls?${range}&format=csv`);
progress(`CSV ${small.rows} rows: ${Math.round(small.rowsPerSec)} rows/s, heap +${small.peakHeapMb.toFixed(1)} MiB; ${large.rows} rows: ${Math.round(large.rowsPerSec)} rows/s, heap +${large.peakHeapMb.toFixed(1)} MiB`);

const anchor = results['anchor: same search straight to ClickHouse']!.p50;
process.stdout.write(`\nAPI over ${CALLS.toLocaleString('en')} stored calls (shared 2-core box, other engineers' jobs running; loopback HTTP, keep-alive, one request at a time)\n\n`);
process.stdout.write('| request | p50 ms | p99 ms | p50 / anchor |\n|---|---|---|---|\n');
for (const [name, r] of Object.entries(results)) process.stdout.write(`| ${name} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${(r.p50 / anchor).toFixed(2)} |\n`);
process.stdout.write(`\n| CSV export | rows | seconds | rows/s | peak heap growth |\n|---|---|---|---|---|\n`);
for (const [name, r] of [['tenant t1, 6 h', small], ['all, 24 h', large]] as const) {
  process.stdout.write(`| ${name} | ${r.rows} | ${r.seconds.toFixed(1)} | ${Math.round(r.rowsPerSec)} | ${r.peakHeapMb.toFixed(1)} MiB |\n`);
}

await api.close();
agent.destroy();
} finally {
  if (!args.keep) await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
  await admin.close();
  await store.close();
}
