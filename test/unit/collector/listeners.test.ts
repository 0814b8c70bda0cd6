/** The collector over loopback sockets into an in-memory sink: transports, framing, limits, TLS, metrics. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { decodeEnvelope } from '../../../services/shared/hep/envelope.ts';
import type { CaptureRecord } from '../../../services/collector/publish/record.ts';
import { Collector, type CollectorConfig } from '../../../services/collector/service.ts';
import { collectorSettings } from '../../../services/collector/settings.ts';
import type { OfferResult, RecordSink } from '../../../services/collector/sink.ts';
import { parseSettings } from '../../../services/shared/config/settings.ts';
import { hepPacket, sendTcp, sendUdp, sipMix } from '../../support/hep-sender.ts';

class MemorySink implements RecordSink {
  readonly records: CaptureRecord[] = [];
  answer: OfferResult = 'queued';
  offer(r: CaptureRecord): OfferResult {
    if (this.answer !== 'dropped') this.records.push(r);
    return this.answer;
  }
}

const log = pino({ level: 'silent' });
const running: Collector[] = [];
after(async () => {
  await Promise.all(running.map((c) => c.close()));
});

function config(env: Record<string, string> = {}): CollectorConfig {
  return { ...parseSettings(collectorSettings, { HEP_PORT: '1', ...env }), hepPort: 0, kafkaTopicPrefix: 'u.' };
}

async function start(env: Record<string, string> = {}, registry?: Registry): Promise<{ c: Collector; sink: MemorySink; udp: number; tcp: number }> {
  const sink = new MemorySink();
  const c = new Collector({ config: config(env), sink, log, registry });
  await c.start();
  running.push(c);
  const port = (a: string | undefined) => Number(a!.slice(a!.lastIndexOf(':') + 1));
  return { c, sink, udp: port(c.udp.addresses[0]), tcp: port(c.tcp.addresses[0]) };
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('UDP over IPv4 and IPv6: every packet accepted, sender address family kept', async () => {
  const sink = new MemorySink();
  const c = new Collector({ config: { ...config({ HEP_IPV6: 'true' }) }, sink, log });
  await c.start();
  running.push(c);
  assert.equal(c.udp.addresses.length, 2);
  const p4 = Number(c.udp.addresses[0]!.split(':').pop());
  const p6 = Number(c.udp.addresses[1]!.split(':').pop());
  const mix = sipMix(50, 3);
  await sendUdp('127.0.0.1', p4, mix.map((m) => m.bytes));
  await sendUdp('::1', p6, mix.map((m) => m.bytes), { family: 6 });
  await until(() => sink.records.length === mix.length * 2, 'all UDP packets');
  const fams = sink.records.map((r) => decodeEnvelope(r.value).senderFamily);
  assert.equal(fams.filter((f) => f === 6).length, mix.length);
  assert.ok(c.describe().some((l) => l.startsWith('HEP udp [::1]:')));
  await c.close();
});

test('TCP: the stream cut at random points yields every packet in order', async () => {
  const { sink, tcp } = await start();
  const mix = sipMix(200, 11);
  await sendTcp('127.0.0.1', tcp, mix.map((m) => m.bytes), { splitSeed: 99 });
  await until(() => sink.records.length === mix.length, 'all TCP packets');
  sink.records.forEach((r, i) => assert.ok(decodeEnvelope(r.value).hep.equals(mix[i]!.bytes), `packet ${i}`));
});

test('TCP: garbage closes the connection with a counted reason; a bad packet that frames fine is dropped alone', async () => {
  const registry = new Registry();
  const { c, sink, tcp } = await start({}, registry);
  const good = hepPacket('OPTIONS sip:x SIP/2.0\r\nCall-ID: g\r\n\r\n');
  // Frames fine (length right) but a chunk inside claims length 3: decode error, connection survives.
  const badChunk = Buffer.from(good);
  badChunk.writeUInt16BE(3, 6 + 4);
  await sendTcp('127.0.0.1', tcp, [good, badChunk, good]);
  await until(() => sink.records.length === 2, 'two good packets');
  assert.equal(c.stats.dropped.get('decode:bad_chunk_length'), 1);

  const socket = net.connect(tcp, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.concat([good, Buffer.from('GET / HTTP/1.1\r\n\r\n')]));
  await new Promise((r) => socket.once('close', r));
  await until(() => c.stats.connectionsClosed.get('tcp|framing:bad_magic') === 1, 'framing close counted');
  const text = await registry.metrics();
  assert.match(text, /tollgate_collector_connections_closed_total\{transport="tcp",reason="framing:bad_magic"\} 1/);
  assert.match(text, /tollgate_collector_dropped_total\{reason="decode:bad_magic"\} 1/);
  assert.match(text, /tollgate_collector_decode_errors_total\{reason="bad_chunk_length"\} 1/);
  assert.match(text, /tollgate_collector_malformed_sender_packets\{sender="127\.0\.0\.1:\d+"\} 1/);
});

test('TCP: connection limit and idle timeout', async () => {
  const { c, tcp } = await start({ HEP_MAX_TCP_CONNECTIONS: '1', HEP_TCP_IDLE_TIMEOUT: '200ms' });
  const first = net.connect(tcp, '127.0.0.1');
  await new Promise((r) => first.once('connect', r));
  await until(() => c.stats.connections.tcp === 1, 'first connection');
  const second = net.connect(tcp, '127.0.0.1');
  second.on('error', () => undefined);
  await new Promise((r) => second.once('close', r));
  await until(() => c.stats.connectionsClosed.get('tcp|limit') === 1, 'limit counted');
  await new Promise((r) => first.once('close', r));
  await until(() => c.stats.connectionsClosed.get('tcp|idle') === 1, 'idle counted');
  assert.equal(c.stats.connections.tcp, 0);
});

test('UDP: sources outside HEP_ALLOWED_SOURCES are dropped; TCP connections from them refused', async () => {
  const { c, sink, udp, tcp } = await start({ HEP_ALLOWED_SOURCES: '10.0.0.0/8' });
  await sendUdp('127.0.0.1', udp, [hepPacket('x'), hepPacket('y')]);
  await until(() => c.stats.dropped.get('source_not_allowed') === 2, 'drops');
  const s = net.connect(tcp, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((r) => s.once('close', r));
  assert.equal(c.stats.connectionsClosed.get('tcp|source_not_allowed'), 1);
  assert.equal(sink.records.length, 0);
});

test('sink answers are counted: spooled and dropped offers', async () => {
  const { c, sink, udp } = await start();
  sink.answer = 'spooled';
  await sendUdp('127.0.0.1', udp, [hepPacket('a')]);
  await until(() => c.stats.spooled[0] === 1, 'spooled');
  sink.answer = 'dropped';
  await sendUdp('127.0.0.1', udp, [hepPacket('b')]);
  await until(() => c.stats.publishDropped === 1, 'publish drop');
});

test('TLS: same framing over a TLS connection; half-set TLS settings are refused at construction', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost'], { stdio: 'ignore' });
  assert.throws(() => new Collector({ config: config({ HEP_TLS_PORT: '0' }), sink: new MemorySink(), log }), /together/);
  assert.throws(() => new Collector({ config: config({ HEP_TLS_PORT: '0', HEP_TLS_CERT: join(dir, 'none'), HEP_TLS_KEY: key }), sink: new MemorySink(), log }), /cannot read/);
  const { c, sink } = await start({ HEP_TLS_PORT: '0', HEP_TLS_CERT: cert, HEP_TLS_KEY: key });
  const port = Number(c.tls!.addresses[0]!.split(':').pop());
  const mix = sipMix(20, 5);
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await new Promise((r) => socket.once('secureConnect', r));
  for (const m of mix) socket.write(m.bytes);
  socket.end();
  await until(() => sink.records.length === mix.length, 'TLS packets');
  assert.equal(decodeEnvelope(sink.records[0]!.value).transport, 'tls');
});

test('HEP_IPV6 with a specific IPv4 host is refused with a clear message', () => {
  assert.throws(() => new Collector({ config: config({ HEP_HOST: '10.1.2.3', HEP_IPV6: 'true' }), sink: new MemorySink(), log }), /IPv6 counterpart/);
});

test('TCP: whole packets ahead of garbage in the same segment are kept (regression: framer drops its cut frames)', async () => {
  const { c, sink, tcp } = await start();
  const good = hepPacket('OPTIONS sip:x SIP/2.0\r\nCall-ID: g\r\n\r\n');
  const socket = net.connect(tcp, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(Buffer.concat([good, good, Buffer.from('junk')]));
  await new Promise((r) => socket.once('close', r));
  await until(() => sink.records.length === 2, 'both packets before the junk');
  assert.equal(c.stats.dropped.get('decode:bad_magic'), 1);
});

test('TCP: a segment starting mid-packet keeps the packets ahead of its garbage (regression: only aligned chunks were recovered)', async () => {
  const { c, sink, tcp } = await start();
  const good = hepPacket('OPTIONS sip:x SIP/2.0\r\nCall-ID: m\r\n\r\n');
  const socket = net.connect(tcp, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(good.subarray(0, 10));
  // Let the first piece arrive as a chunk of its own, so the next one starts inside a packet.
  await new Promise((r) => setTimeout(r, 50));
  socket.write(Buffer.concat([good.subarray(10), good, good, Buffer.from('junk')]));
  await new Promise((r) => socket.once('close', r));
  await until(() => sink.records.length === 3, 'the split packet and both whole ones');
  assert.equal(c.stats.dropped.get('decode:bad_magic'), 1);
});
