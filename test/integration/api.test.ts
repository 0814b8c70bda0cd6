/**
 * The API end to end: HEP over TCP → collector → Kafka → analyzer → ClickHouse rows → API responses, with exact
 * bodies; auth and tenancy on every route; responses validated against the published OpenAPI schemas; property
 * tests on query parameters; the PCAP read back by tshark; /docs and a ladder page in headless Chromium.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { ApiEnv, KEYS } from './api-harness.ts';
import { ALICE, GATEWAY, PROXY_IN } from '../support/api-scenarios.ts';
import { decodePng, inkColours, inkRatio } from '../support/png.ts';

const execFileAsync = promisify(execFile);
const iso = (us: number): string => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
const enc = encodeURIComponent;

describe('API end to end over real analyzer rows', { timeout: 300_000 }, () => {
  const e = new ApiEnv();
  let from = '';
  let to = '';
  const tmp = mkdtempSync(join(tmpdir(), 'tg-api-test-'));

  before(async () => {
    await e.setup();
    from = iso(e.t0 - 60_000_000);
    to = iso(e.t0 + 3_600_000_000);
  });
  after(async () => {
    await e.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function get(path: string, key: string | null = KEYS.admin, headers: Record<string, string> = {}, server = e.api) {
    return server.app.inject({ url: path, headers: { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...headers } });
  }
  const range = () => `from=${enc(from)}&to=${enc(to)}`;

  it('GET /v1/calls returns every call newest first, the A-leg exactly as captured', async () => {
    const s = e.scenarios;
    const r = await get(`/v1/calls?${range()}`);
    assert.equal(r.statusCode, 200);
    const body = r.json();
    assert.deepEqual(body.items.map((c: { call_id: string }) => c.call_id), [s.v6, s.busy, s.bLeg, s.aLeg]);
    assert.equal(body.next, null);
    const a = body.items[3];
    const self = `/v1/calls/${enc(s.aLeg)}`;
    assert.deepEqual(a, {
      call_id: s.aLeg, from_tag: 'ft-a-leg-4b', to_tag: 'tt-a-leg-4b', tenant: 'acme', domain: 'a.example',
      state: 'answered', final_status: 200, final_reason: 'OK', end_reason: 'bye', hangup_side: 'caller',
      setup_time: iso(e.t0), first_provisional_time: iso(e.t0 + 20_000), ring_time: iso(e.t0 + 250_500),
      answer_time: iso(e.t0 + 2_000_000), end_time: iso(e.t0 + 62_000_750), pdd_ms: 250.5, duration_ms: 60_000.75,
      caller: { user: '4930111222', domain: 'a.example', display: '' }, callee: { user: '4940333444', domain: 'a.example' },
      request_uri: { user: '4940333444', domain: 'a.example' }, source: { ip: ALICE.ip, port: 5060 }, destination: { ip: PROXY_IN.ip, port: 5060 },
      transport: 'UDP', user_agent: 'scenario-ua/1.0', ack_seen: true, attempts: 1, auth_challenges: 0, redirects: 0, reinvites: 0,
      linked_call_id: '', linked_source: '', nodes: ['proxy-1'], capture_ids: [2001], hops: 1, retransmissions: 0, messages: 7,
      links: { self, messages: `${self}/messages`, ladder: `${self}/ladder.svg`, ladder_html: `${self}/ladder.svg?format=html`, pcap: `${self}/pcap` },
    });
    const pick = (c: Record<string, unknown>) => [c['call_id'], c['tenant'], c['state'], c['final_status'], c['linked_call_id'], c['transport']];
    assert.deepEqual(body.items.slice(0, 3).map(pick), [
      [s.v6, 'acme', 'no_answer', 480, '', 'TCP'],
      [s.busy, 'beta', 'busy', 486, '', 'UDP'],
      [s.bLeg, 'acme', 'answered', 200, s.aLeg, 'UDP'],
    ]);
  });

  it('GET /v1/calls filters by caller, callee, prefixes, Call-ID, addresses, status, state, tenant and node', async () => {
    const s = e.scenarios;
    const ids = async (q: string) => (await get(`/v1/calls?${range()}&${q}`)).json().items.map((c: { call_id: string }) => c.call_id);
    assert.deepEqual(await ids('caller=4930111222'), [s.v6, s.bLeg, s.aLeg]);
    assert.deepEqual(await ids('caller=493011122'), []);
    assert.deepEqual(await ids('caller_prefix=car'), [s.busy]);
    assert.deepEqual(await ids('callee=dave'), [s.busy]);
    assert.deepEqual(await ids('callee_prefix=4940'), [s.v6, s.bLeg, s.aLeg]);
    assert.deepEqual(await ids(`call_id=${enc(s.bLeg)}`), [s.bLeg]);
    assert.deepEqual(await ids(`src_ip=${enc('2001:db8::10')}`), [s.v6]);
    assert.deepEqual(await ids(`dst_ip=${GATEWAY.ip}`), [s.bLeg]);
    assert.deepEqual(await ids('status=486'), [s.busy]);
    assert.deepEqual(await ids('state=answered'), [s.bLeg, s.aLeg]);
    assert.deepEqual(await ids('tenant=beta'), [s.busy]);
    assert.deepEqual(await ids('node=sbc-1'), [s.bLeg]);
    assert.deepEqual(await ids('caller=4930111222&state=no_answer'), [s.v6]);
    // Outside the range: nothing.
    assert.deepEqual((await get(`/v1/calls?from=${enc(iso(e.t0 - 7_200_000_000))}&to=${enc(iso(e.t0 - 3_600_000_000))}`)).json().items, []);
  });

  it('pages with a stable keyset cursor and next link; cursors are bound to their filters; junk is a 422', async () => {
    const all = (await get(`/v1/calls?${range()}`)).json().items.map((c: { call_id: string }) => c.call_id);
    const seen: string[] = [];
    let url: string | null = `/v1/calls?${range()}&limit=1`;
    let pages = 0;
    while (url !== null) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, r.body);
      const b = r.json();
      seen.push(...b.items.map((c: { call_id: string }) => c.call_id));
      if (b.next !== null) {
        assert.equal(r.headers['link'], `<${b.next}>; rel="next"`);
        const u = new URL(b.next);
        assert.equal(u.host, 'localhost');
        url = `${u.pathname}${u.search}`;
      } else url = null;
      pages++;
    }
    assert.deepEqual(seen, all);
    assert.equal(pages, 4);
    const first = (await get(`/v1/calls?${range()}&limit=1`)).json();
    const cursor = new URL(first.next).searchParams.get('cursor')!;
    const other = await get(`/v1/calls?${range()}&limit=1&state=busy&cursor=${cursor}`);
    assert.equal(other.statusCode, 422);
    assert.equal(other.json().param, 'cursor');
    for (const junk of ['x', 'eyJrIjpbMV19', '%00', 'a'.repeat(2049)]) {
      const r = await get(`/v1/calls?${range()}&cursor=${junk}`);
      assert.equal(r.statusCode, 422, junk);
      assert.equal(r.json().param, 'cursor');
    }
  });

  it('exports the same query as streamed CSV (format=csv and Accept: text/csv)', async () => {
    const s = e.scenarios;
    const a = await get(`/v1/calls?${range()}&format=csv`);
    assert.equal(a.statusCode, 200);
    assert.equal(a.headers['content-type'], 'text/csv; charset=utf-8');
    const lines = a.body.trimEnd().split('\r\n');
    assert.equal(lines.length, 5);
    assert.equal(lines[0], 'call_id,from_tag,tenant,state,final_status,final_reason,setup_time,answer_time,end_time,pdd_ms,duration_ms,caller,caller_domain,callee,callee_domain,ruri_user,src_ip,src_port,dst_ip,dst_port,transport,hangup_side,end_reason,linked_call_id,nodes,messages');
    assert.equal(lines[4], `${s.aLeg},ft-a-leg-4b,acme,answered,200,OK,${iso(e.t0)},${iso(e.t0 + 2_000_000)},${iso(e.t0 + 62_000_750)},250.5,60000.75,4930111222,a.example,4940333444,a.example,4940333444,192.0.2.10,5060,192.0.2.1,5060,UDP,caller,bye,,proxy-1,7`);
    const b = await get(`/v1/calls?${range()}`, KEYS.admin, { accept: 'text/csv' });
    assert.equal(b.body, a.body);
  });

  it('GET /v1/calls/{callId} gives the call with its correlated legs, from either side', async () => {
    const s = e.scenarios;
    const a = (await get(`/v1/calls/${enc(s.aLeg)}`)).json();
    assert.equal(a.call.call_id, s.aLeg);
    assert.deepEqual(a.legs.map((l: { call_id: string; linked_call_id: string; linked_source: string }) => [l.call_id, l.linked_call_id, l.linked_source]), [[s.bLeg, s.aLeg, 'header:X-CID']]);
    const b = (await get(`/v1/calls/${enc(s.bLeg)}`)).json();
    assert.equal(b.call.call_id, s.bLeg);
    assert.deepEqual(b.legs.map((l: { call_id: string }) => l.call_id), [s.aLeg]);
    const none = await get(`/v1/calls/${enc('no-such-call@nowhere')}`);
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().type, 'https://tollgate.dev/problems/call-not-found');
  });

  it('GET /v1/calls/{callId}/messages gives every message of every leg, in capture order, raw and parsed', async () => {
    const s = e.scenarios;
    const r = (await get(`/v1/calls/${enc(s.aLeg)}/messages`)).json();
    const sent = s.packets.filter((p) => p.callId === s.aLeg || p.callId === s.bLeg);
    assert.deepEqual(r.legs, [s.aLeg, s.bLeg]);
    assert.equal(r.truncated, false);
    assert.equal(r.messages.length, sent.length);
    r.messages.forEach((m: Record<string, any>, i: number) => {
      const p = sent[i]!;
      assert.equal(m['index'], i);
      assert.equal(m['call_id'], p.callId);
      assert.equal(m['leg'], p.callId === s.aLeg ? 0 : 1);
      assert.equal(m['time'], iso(p.tsUs));
      assert.equal(m['raw'], p.text);
      assert.deepEqual([m['source'], m['destination'], m['node']], [{ ip: p.src.ip, port: p.src.port }, { ip: p.dst.ip, port: p.dst.port }, p.node]);
      assert.equal(m['start_line'], p.text.split('\r\n')[0]);
      assert.equal(m['headers'].find((h: { name: string }) => h.name === 'Call-ID').value, p.callId);
    });
    assert.deepEqual(r.messages[1].headers.find((h: { name: string }) => h.name === 'X-CID'), { name: 'X-CID', value: s.aLeg });
  });

  it('draws the ladder: a column per host, one arrow per stored message in order, labels, classes and legs', async () => {
    const s = e.scenarios;
    const r = await get(`/v1/calls/${enc(s.aLeg)}/ladder.svg`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/svg+xml; charset=utf-8');
    const svg = r.body;
    writeFileSync(join(tmp, 'ladder.svg'), svg);
    const hosts = [...svg.matchAll(/<g class="host" data-host="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(hosts, ['192.0.2.10:5060', '192.0.2.1:5060', '192.0.2.1:5080', '198.51.100.20:5060']);
    // The stored messages, read straight from ClickHouse, are the reference.
    const stored = await e.env.store.query<{ call_id: string; kind: string; method: string; status: number; reason: string; src_ip: string; src_port: number; dst_ip: string; dst_port: number }>(
      'SELECT call_id, kind, method, status, reason, src_ip, src_port, dst_ip, dst_port FROM sip_messages WHERE call_id IN {ids:Array(String)} ORDER BY ts, kafka_partition, kafka_offset',
      { ids: [s.aLeg, s.bLeg] });
    const arrows = [...svg.matchAll(/<g class="msg (\w+)" id="m(\d+)" data-index="\d+" data-call-id="([^"]+)" data-leg="(\d)" data-from="([^"]+)" data-to="([^"]+)"[^>]*>.*?<text class="label"[^>]*>([^<]+)<\/text>/g)];
    assert.equal(arrows.length, stored.length);
    arrows.forEach((a, i) => {
      const m = stored[i]!;
      const cls = m.kind === 'request' ? 'request' : m.status < 200 ? 'r1xx' : m.status < 300 ? 'r2xx' : m.status < 400 ? 'r3xx' : 'error';
      assert.deepEqual([a[1], Number(a[2]), a[3], a[5], a[6], a[7]],
        [cls, i, m.call_id, `${m.src_ip}:${m.src_port}`, `${m.dst_ip}:${m.dst_port}`, m.kind === 'request' ? m.method : `${m.status} ${m.reason}`]);
    });
    assert.deepEqual([...svg.matchAll(/<g class="leg-entry" data-leg="\d" data-call-id="([^"]+)"/g)].map((m) => m[1]), [s.aLeg, s.bLeg]);
    assert.match(svg, /captured by sbc-1/);
    // A failed call draws its final response as an error.
    const busy = (await get(`/v1/calls/${enc(s.busy)}/ladder.svg`)).body;
    assert.match(busy, /<g class="msg error"[^>]*>.*486 Busy Here/);
  });

  it('serves the ladder as an HTML page with message text and a stable shareable URL', async () => {
    const s = e.scenarios;
    const r = await get(`/v1/calls/${enc(s.aLeg)}/ladder.svg?format=html`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body, new RegExp(`<link rel="canonical" href="http://localhost:80/v1/calls/${enc(s.aLeg).replace(/\./g, '\\.')}/ladder\\.svg\\?format=html">`));
    const json = /<script id="messages" type="application\/json">(.*?)<\/script>/s.exec(r.body)![1]!;
    const msgs = JSON.parse(json) as Array<{ text: string }>;
    assert.equal(msgs.length, 14);
    assert.equal(msgs[0]!.text, s.packets.find((p) => p.callId === s.aLeg)!.text);
  });

  it('exports a PCAP that tshark and sngrep read: one packet per message, the right Call-IDs, UDP over IPv4 and TCP over IPv6', async () => {
    const s = e.scenarios;
    const r = await get(`/v1/calls/${enc(s.aLeg)}/pcap`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'application/vnd.tcpdump.pcap');
    const file = join(tmp, 'a.pcap');
    writeFileSync(file, r.rawPayload);
    const rows = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'sip.Call-ID', '-e', 'sip.CSeq'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim().split('\n');
    const sent = s.packets.filter((p) => p.callId === s.aLeg || p.callId === s.bLeg);
    assert.equal(rows.length, sent.length);
    assert.deepEqual(rows, sent.map((p) => `${p.src.ip}|${p.src.port}|${p.dst.ip}|${p.dst.port}|${p.callId}|${/CSeq: ([^\r]+)/.exec(p.text)![1]}`));
    // sngrep (Debian, installed by setup) reads it as SIP too: what it parsed it writes back out, message for message.
    const again = join(tmp, 'sngrep.pcap');
    execFileSync('sngrep', ['-N', '-q', '-I', file, '-O', again], { stdio: 'ignore', timeout: 30_000 });
    const resaved = execFileSync('tshark', ['-r', again, '-T', 'fields', '-e', 'sip.Call-ID'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    assert.deepEqual(resaved, sent.map((p) => p.callId));
    const v6 = await get(`/v1/calls/${enc(s.v6)}/pcap`);
    const f6 = join(tmp, 'v6.pcap');
    writeFileSync(f6, v6.rawPayload);
    const r6 = execFileSync('tshark', ['-r', f6, '-T', 'fields', '-E', 'separator=|', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'sip.Call-ID', '-e', 'tcp.checksum.status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    const sent6 = s.packets.filter((p) => p.callId === s.v6);
    assert.equal(r6.length, sent6.length);
    assert.deepEqual(r6.map((l) => l.split('|').slice(0, 5).join('|')), sent6.map((p) => `${p.src.ip}|${p.src.port}|${p.dst.ip}|${p.dst.port}|${s.v6}`));
  });

  it('GET /v1/registrations, /v1/qos and /v1/stats from the analyzer\'s rows and rollups', async () => {
    const s = e.scenarios;
    const regs = (await get(`/v1/registrations?${range()}`)).json().items;
    assert.deepEqual(regs.map((r: Record<string, unknown>) => [r['call_id'], r['cseq'], r['tenant'], r['user'], r['outcome'], r['status'], r['expires_granted']]), [
      [s.regFail, 1, 'beta', 'carol', 'auth_failed', 403, null],
      [s.reg, 2, 'acme', '4930111222', 'registered', 200, 3600],
      [s.reg, 1, 'acme', '4930111222', 'challenge', 401, null],
    ]);
    assert.equal(regs[1].time, iso(e.t0 + 930_000));
    assert.deepEqual((await get(`/v1/registrations?${range()}&outcome=auth_failed`)).json().items.map((r: { call_id: string }) => r.call_id), [s.regFail]);
    assert.equal((await get(`/v1/registrations?${range()}&user=carol`)).json().items.length, 1);
    // Paging: one per page, same rows in the same order.
    const paged: string[] = [];
    let url: string | null = `/v1/registrations?${range()}&limit=1`;
    while (url !== null) {
      const b: { items: Array<{ call_id: string; cseq: number }>; next: string | null } = (await get(url)).json();
      paged.push(...b.items.map((r: { call_id: string; cseq: number }) => `${r.call_id}/${r.cseq}`));
      url = b.next === null ? null : `${new URL(b.next).pathname}${new URL(b.next).search}`;
    }
    assert.deepEqual(paged, regs.map((r: { call_id: string; cseq: number }) => `${r.call_id}/${r.cseq}`));
    const regCsv = (await get(`/v1/registrations?${range()}&format=csv`)).body.trimEnd().split('\r\n');
    assert.equal(regCsv.length, 4);
    assert.equal(regCsv[0], 'time,tenant,call_id,cseq,user,aor_domain,outcome,status,reason,expires_granted,src_ip,src_port,user_agent,behind_nat,node');

    const qos = (await get(`/v1/qos?${range()}`)).json().items;
    assert.equal(qos.length, 1);
    assert.deepEqual([qos[0].call_id, qos[0].report, qos[0].tenant, qos[0].reporter_ssrc, qos[0].source_ssrc, qos[0].fraction_lost, qos[0].cumulative_lost, qos[0].jitter_ts_units, qos[0].time],
      [s.aLeg, 'rtcp_sr', 'default', 11, 22, 0.25, 4, 40, iso(e.t0 + 5_000_000)]);
    // RTCP carries no SIP domain, so its row has the default tenant; a tenant's key still sees its calls' media.
    assert.deepEqual((await get(`/v1/qos?${range()}`, KEYS.acme)).json().items.map((q: { call_id: string }) => q.call_id), [s.aLeg]);
    assert.deepEqual((await get(`/v1/qos?${range()}&tenant=beta`)).json().items, []);
    assert.deepEqual((await get(`/v1/qos?${range()}&call_id=${enc(s.bLeg)}`)).json().items, []);

    const stats = (await get(`/v1/stats?${range()}&interval=1h`)).json();
    const hour = `${new Date(Math.floor(e.t0 / 3_600_000_000) * 3_600_000).toISOString().slice(0, 19)}Z`;
    assert.deepEqual(stats.buckets, [
      { time: hour, tenant: 'acme', attempts: 3, answered: 2, asr: 2 / 3, acd_ms: 60_000.75, ner: 1, pdd_ms: { p50: 250.5, p90: 250.5, p99: 250.5 }, by_code: { 200: 2, 480: 1 } },
      { time: hour, tenant: 'beta', attempts: 1, answered: 0, asr: 0, acd_ms: null, ner: 1, pdd_ms: { p50: 400.25, p90: 400.25, p99: 400.25 }, by_code: { 486: 1 } },
    ]);
    const beta = (await get(`/v1/stats?${range()}&interval=1h&tenant=beta`)).json();
    assert.deepEqual(beta.buckets.map((b: { tenant: string }) => b.tenant), ['beta']);
  });

  it('masks numbers and user parts without pii.read (API_MASK_NUMBERS), everywhere, and refuses number filters', async () => {
    const s = e.scenarios;
    const masked = (await get(`/v1/calls?${range()}&call_id=${enc(s.aLeg)}`, KEYS.noc, {}, e.masked)).json().items[0];
    assert.deepEqual([masked.caller.user, masked.callee.user, masked.request_uri.user], ['493*******', '494*******', '494*******']);
    const clear = (await get(`/v1/calls?${range()}&call_id=${enc(s.aLeg)}`, KEYS.pii, {}, e.masked)).json().items[0];
    assert.equal(clear.caller.user, '4930111222');
    const msgs = (await get(`/v1/calls/${enc(s.aLeg)}/messages`, KEYS.noc, {}, e.masked)).json().messages;
    assert.equal(msgs[0].start_line, 'INVITE sip:494*******@a.example SIP/2.0');
    assert.ok(!msgs.some((m: { raw: string }) => m.raw.includes('4930111222') || m.raw.includes('4940333444')));
    const csv = (await get(`/v1/calls?${range()}&format=csv`, KEYS.noc, {}, e.masked)).body;
    assert.ok(!csv.includes('4930111222') && csv.includes('493*******'));
    const html = (await get(`/v1/calls/${enc(s.aLeg)}/ladder.svg?format=html`, KEYS.noc, {}, e.masked)).body;
    assert.ok(!html.includes('4930111222'));
    const pcap = (await get(`/v1/calls/${enc(s.aLeg)}/pcap`, KEYS.noc, {}, e.masked)).rawPayload;
    assert.ok(!pcap.includes('4930111222'));
    const regs = (await get(`/v1/registrations?${range()}`, KEYS.noc, {}, e.masked)).json().items;
    assert.ok(regs.every((r: { user: string }) => r.user.includes('*')));
    const f = await get(`/v1/calls?${range()}&caller_prefix=49`, KEYS.noc, {}, e.masked);
    assert.equal(f.statusCode, 403);
    assert.equal(f.json().param, 'caller_prefix');
  });

  describe('auth and tenancy on every route', () => {
    // Each route with a resource of tenant beta (the busy call) that the acme-bound key must not see.
    const routes = (): Array<{ name: string; own: string; other: string; otherStatus: number }> => {
      const s = e.scenarios;
      return [
        { name: 'calls', own: `/v1/calls?${range()}`, other: `/v1/calls?${range()}&tenant=beta`, otherStatus: 403 },
        { name: 'call', own: `/v1/calls/${enc(s.aLeg)}`, other: `/v1/calls/${enc(s.busy)}`, otherStatus: 404 },
        { name: 'messages', own: `/v1/calls/${enc(s.aLeg)}/messages`, other: `/v1/calls/${enc(s.busy)}/messages`, otherStatus: 404 },
        { name: 'ladder', own: `/v1/calls/${enc(s.aLeg)}/ladder.svg`, other: `/v1/calls/${enc(s.busy)}/ladder.svg`, otherStatus: 404 },
        { name: 'ladder html', own: `/v1/calls/${enc(s.aLeg)}/ladder.svg?format=html`, other: `/v1/calls/${enc(s.busy)}/ladder.svg?format=html`, otherStatus: 404 },
        { name: 'pcap', own: `/v1/calls/${enc(s.aLeg)}/pcap`, other: `/v1/calls/${enc(s.busy)}/pcap`, otherStatus: 404 },
        { name: 'registrations', own: `/v1/registrations?${range()}`, other: `/v1/registrations?${range()}&tenant=beta`, otherStatus: 403 },
        { name: 'qos', own: `/v1/qos?${range()}`, other: `/v1/qos?${range()}&tenant=beta`, otherStatus: 403 },
        { name: 'stats', own: `/v1/stats?${range()}`, other: `/v1/stats?${range()}&tenant=beta`, otherStatus: 403 },
      ];
    };

    it('no key 401, wrong key 401, missing scope 403, other tenant 403/404, right key 200', async () => {
      for (const r of routes()) {
        const cases: Array<[string, string | null, Record<string, string>, string, number]> = [
          ['no key', null, {}, r.own, 401],
          ['wrong key', 'not-a-key-0123456789abcdef', {}, r.own, 401],
          ['wrong X-API-Key', null, { 'x-api-key': 'not-a-key-0123456789abcdef' }, r.own, 401],
          ['missing scope', KEYS.fraud, {}, r.own, 403],
          ['other tenant', KEYS.acme, {}, r.other, r.otherStatus],
          ['right key', KEYS.acme, {}, r.own, 200],
          ['right key by X-API-Key', null, { 'x-api-key': KEYS.noc }, r.own, 200],
        ];
        for (const [what, key, headers, url, status] of cases) {
          const res = await get(url, key, headers);
          assert.equal(res.statusCode, status, `${r.name}: ${what}: ${res.body.slice(0, 300)}`);
          if (status !== 200) assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', `${r.name}: ${what}`);
        }
      }
    });

    it('a tenant-bound key sees only its tenant\'s rows, restricted in SQL', async () => {
      const s = e.scenarios;
      const calls = (await get(`/v1/calls?${range()}`, KEYS.acme)).json().items;
      assert.deepEqual(calls.map((c: { call_id: string }) => c.call_id), [s.v6, s.bLeg, s.aLeg]);
      const regs = (await get(`/v1/registrations?${range()}`, KEYS.acme)).json().items;
      assert.ok(regs.length === 2 && regs.every((r: { tenant: string }) => r.tenant === 'acme'));
      const stats = (await get(`/v1/stats?${range()}`, KEYS.acme)).json().buckets;
      assert.deepEqual(stats.map((b: { tenant: string }) => b.tenant), ['acme']);
      // The busy call's messages are beta's: not even by Call-ID.
      assert.equal((await get(`/v1/calls?${range()}&call_id=${enc(s.busy)}`, KEYS.acme)).json().items.length, 0);
    });
  });

  it('every response matches the schema published in /openapi.json', async () => {
    const spec = (await get('/openapi.json', null)).json();
    assert.equal(spec.openapi, '3.1.0');
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const [name, schema] of Object.entries(spec.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
    const s = e.scenarios;
    const cases: Array<[string, string, string]> = [
      ['/v1/calls', 'get', `/v1/calls?${range()}`],
      ['/v1/calls/{callId}', 'get', `/v1/calls/${enc(s.aLeg)}`],
      ['/v1/calls/{callId}/messages', 'get', `/v1/calls/${enc(s.aLeg)}/messages`],
      ['/v1/registrations', 'get', `/v1/registrations?${range()}`],
      ['/v1/qos', 'get', `/v1/qos?${range()}`],
      ['/v1/stats', 'get', `/v1/stats?${range()}`],
    ];
    for (const [path, method, url] of cases) {
      const op = spec.paths[path][method];
      const schema = op.responses['200'].content['application/json'].schema;
      const validate = ajv.compile(schema);
      const body = (await get(url)).json();
      assert.ok(validate(body), `${path}: ${JSON.stringify(validate.errors)}`);
      // And the schema is not vacuous: a body missing a required field fails it.
      const problem = op.responses['422'] ?? op.responses['401'];
      assert.ok(problem.content['application/problem+json'], path);
    }
    const validateProblem = ajv.compile(spec.components.schemas.Problem);
    for (const url of ['/v1/calls?limit=0', `/v1/calls/${enc('nope')}`, '/v1/calls?from=yesterday']) {
      const r = await get(url);
      assert.ok(validateProblem(r.json()), `${url}: ${JSON.stringify(validateProblem.errors)}`);
    }
    for (const p of ['/v1/calls', '/v1/calls/{callId}', '/v1/calls/{callId}/messages', '/v1/calls/{callId}/ladder.svg', '/v1/calls/{callId}/pcap', '/v1/registrations', '/v1/qos', '/v1/stats']) {
      assert.ok(spec.paths[p]?.get, p);
      assert.ok(spec.paths[p].get.responses['200'], p);
    }
  });

  it('bad input is a clear problem, never a 500: huge limits, bad times, unknown parameters, long Call-IDs', async () => {
    const expect = async (url: string, status: number, param?: string) => {
      const r = await get(url);
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      if (param !== undefined) assert.equal(r.json().param, param, url);
      return r.json();
    };
    assert.match((await expect('/v1/calls?limit=100000', 422, 'limit')).detail, /limit must be <= 1000/);
    await expect('/v1/calls?limit=-1', 422, 'limit');
    await expect('/v1/calls?limit=ten', 422, 'limit');
    assert.match((await expect('/v1/calls?from=yesterday', 422, 'from')).detail, /RFC 3339/);
    await expect('/v1/calls?from=2026-02-30T00:00:00Z', 422, 'from');
    await expect(`/v1/calls?from=${enc('2020-01-01T00:00:00Z')}&to=${enc('2021-01-01T00:00:00Z')}`, 422, 'from');
    await expect(`/v1/calls?from=${enc(to)}&to=${enc(from)}`, 422, 'from');
    await expect('/v1/calls?colour=blue', 422, 'colour');
    await expect('/v1/calls?status=99', 422, 'status');
    await expect('/v1/calls?state=exploded', 422, 'state');
    await expect('/v1/calls?src_ip=not-an-ip', 422, 'src_ip');
    await expect('/v1/stats?interval=7m', 422, 'interval');
    await expect(`/v1/stats?interval=1m&from=${enc(iso(e.t0 - 30 * 86_400_000_000))}&to=${enc(iso(e.t0))}`, 422, 'interval');
    await expect(`/v1/calls/${'x'.repeat(600)}`, 422, 'callId');
    await expect(`/v1/calls/${enc('a/b?c#d')}`, 404, 'callId');
    await expect('/v1/nothing-here', 404);
  });

  it('ClickHouse unreachable: 503 problem naming the dependency, with Retry-After', async () => {
    // A real fault: the store points at a loopback port nothing listens on.
    const idle = http.createServer();
    await new Promise<void>((resolve) => idle.listen(0, '127.0.0.1', resolve));
    const port = (idle.address() as AddressInfo).port;
    await new Promise<void>((resolve) => idle.close(() => resolve()));
    const { createClickhouseStore } = await import('../../services/shared/clickhouse/client.ts');
    const dead = createClickhouseStore({ url: `http://127.0.0.1:${port}`, user: 'default', database: 'nowhere', requestTimeoutMs: 2_000 });
    const server = e.build({}, undefined, dead);
    try {
      for (const url of [`/v1/calls?${range()}`, `/v1/calls/${enc(e.scenarios.aLeg)}/ladder.svg`, `/v1/stats?${range()}`, `/v1/calls?${range()}&format=csv`]) {
        const r = await get(url, KEYS.admin, {}, server);
        assert.equal(r.statusCode, 503, url);
        assert.equal(r.json().dependency, 'clickhouse', url);
        assert.equal(r.headers['retry-after'], '5', url);
      }
    } finally {
      await server.app.close();
      await dead.close();
    }
  });

  it('property: no query string makes any list route answer 500, and injection strings are inert', async () => {
    const params = ['from', 'to', 'limit', 'cursor', 'format', 'tenant', 'call_id', 'caller', 'caller_prefix', 'callee', 'callee_prefix', 'src_ip', 'dst_ip', 'status', 'state', 'node', 'interval', 'user', 'outcome', 'report'];
    const nasty = fc.constantFrom("' OR 1=1 --", "'); DROP TABLE calls; --", '{tenant:String}', '\\', '%', '\u0000', '😀', '1e309', '-0', '2026-11-30T08:00:00Z', 'NaN', '[]', '{"k":[1]}', '   ', '');
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), nasty);
    const routesList = ['/v1/calls', '/v1/registrations', '/v1/qos', '/v1/stats'];
    await fc.assert(fc.asyncProperty(fc.constantFrom(...routesList), fc.dictionary(fc.constantFrom(...params), value, { maxKeys: 4 }), async (route, q) => {
      const qs = new URLSearchParams(q).toString();
      const r = await get(`${route}?${qs}`);
      assert.ok([200, 403, 404, 422].includes(r.statusCode), `${route}?${qs} → ${r.statusCode} ${r.body.slice(0, 200)}`);
      if (r.statusCode !== 200) assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    }), { numRuns: 150, seed: 20261130 });
    // Injection attempts in every string filter find nothing and change nothing.
    for (const p of ['caller', 'callee', 'caller_prefix', 'call_id', 'node']) {
      const r = await get(`/v1/calls?${range()}&${p}=${enc("' OR 1=1 --")}`);
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json().items, [], p);
    }
    assert.equal(await e.env.count('calls'), 4);
  });

  it('headless Chromium renders /docs with the routes, and a ladder page with one arrow per message', async () => {
    const chromium = spawnSync('chromium', ['--version'], { encoding: 'utf8' });
    assert.equal(chromium.status, 0, 'chromium (Debian package) is installed by setup');
    // The browser sends no key: a loopback proxy adds it, as a reverse proxy with SSO would.
    const proxy = http.createServer((req, res) => {
      const up = http.request({ host: '127.0.0.1', port: e.api.port, path: req.url, method: req.method, headers: { ...req.headers, authorization: `Bearer ${KEYS.admin}` } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    const profile = mkdtempSync(join(tmpdir(), 'tg-chromium-'));
    // Asynchronous: the API under test answers the browser from this very process.
    const browse = async (url: string, extra: string[]) => (await execFileAsync('chromium', [
      '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${profile}`, '--virtual-time-budget=8000', ...extra, url,
    ], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
    try {
      const docs = `http://127.0.0.1:${e.api.port}/docs/`;
      const dom = await browse(docs, ['--dump-dom']);
      for (const p of ['/v1/calls', '/v1/calls/{callId}/ladder.svg', '/v1/calls/{callId}/pcap', '/v1/registrations', '/v1/qos', '/v1/stats']) {
        assert.ok(dom.includes(`data-path="${p}"`), `docs lists ${p}`);
      }
      const docsPng = join(tmp, 'docs.png');
      await browse(docs, [`--screenshot=${docsPng}`, '--window-size=1280,1400']);
      const di = decodePng(readFileSync(docsPng));
      assert.ok(inkRatio(di) > 0.02 && inkColours(di) > 20, `docs screenshot not blank: ink ${inkRatio(di)}, colours ${inkColours(di)}`);

      const s = e.scenarios;
      const page = `http://127.0.0.1:${port}/v1/calls/${enc(s.aLeg)}/ladder.svg?format=html#m3`;
      const ldom = await browse(page, ['--dump-dom']);
      assert.equal([...ldom.matchAll(/<g class="msg /g)].length, 14);
      // The page opened on #m3: the detail pane shows the fourth message's text (the B-leg's 100 Trying).
      const fourth = s.packets.filter((p) => p.callId === s.aLeg || p.callId === s.bLeg)[3]!;
      assert.match(ldom, /<g class="msg r1xx selected" id="m3"/);
      assert.ok(ldom.includes(`<pre id="detail-text">${fourth.text.split('\r\n')[0]}`), 'detail shows the clicked message');
      const png = process.env['API_SCREENSHOT_DIR'] ? join(process.env['API_SCREENSHOT_DIR'], 'ladder.png') : join(tmp, 'ladder.png');
      await browse(page, [`--screenshot=${png}`, '--window-size=1600,900']);
      const li = decodePng(readFileSync(png));
      assert.ok(inkRatio(li) > 0.02 && inkColours(li) > 20, `ladder screenshot not blank: ink ${inkRatio(li)}, colours ${inkColours(li)}`);
    } finally {
      proxy.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
