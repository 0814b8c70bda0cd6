/**
 * Our HEP generator over UDP and TCP → collector → real Kafka: exact counts, addresses, per-call order, drops. Twice:
 * with full headers (the decoded path, `src` checked end to end) and with the defaults (the lazy read, no headers).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeEnvelope } from '../../services/shared/hep/envelope.ts';
import { decodeHep, HepChunk, withoutChunk } from '../../services/shared/hep/index.ts';
import { hepPacket, interleave, sendTcp, sendUdp, sipMix } from '../support/hep-sender.ts';
import { COLLECTOR_HEP_AUTH_KEY } from '../support/test-secrets.ts';
import { startHarness, type Harness } from './collector-harness.ts';

for (const headers of ['full', 'none'] as const) describe(`PUBLISH_HEADERS=${headers}`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ HEP_AUTH_KEY: COLLECTOR_HEP_AUTH_KEY, PUBLISH_HEADERS: headers });
  });
  after(async () => {
    await h?.close();
  });

  test('UDP (v4 and v6 senders) and TCP (cut at random points): exact counts, bytes and addresses preserved, per-Call-ID order', { timeout: 120_000 }, async () => {
    const mix = interleave(sipMix(300, 21, { authKey: COLLECTOR_HEP_AUTH_KEY }));
    const half = mix.length >> 1;
    const c = h.wiring.collector;
    const p6 = Number(c.udp.addresses[1]!.split(':').pop());
    const t6 = Number(c.tcp.addresses[1]!.split(':').pop());
    // Each slice goes over one path; order per Call-ID holds within a path.
    const byPath = [mix.slice(0, half).filter((_, i) => i % 2 === 0), mix.slice(0, half).filter((_, i) => i % 2 === 1), mix.slice(half)];
    await sendUdp('127.0.0.1', h.udpPort, byPath[0]!.map((m) => m.bytes), { ratePerSec: 5_000 });
    await sendUdp('::1', p6, byPath[1]!.map((m) => m.bytes), { family: 6, ratePerSec: 5_000 });
    await sendTcp('::1', t6, byPath[2]!.map((m) => m.bytes), { family: 6, splitSeed: 5 });

    const msgs = await h.consume(h.topic('hepSip'), mix.length);
    assert.equal(msgs.length, mix.length, 'exact count, no duplicates');
    // What reaches Kafka is each packet as sent minus its auth key chunk (the collector strips it).
    const stored = (bytes: Buffer): string => withoutChunk(bytes, HepChunk.AUTH_KEY).toString('base64');
    const sent = new Map(mix.map((m) => [stored(m.bytes), m]));
    const families = { 4: 0, 6: 0 } as Record<number, number>;
    let hepV6 = 0;
    for (const msg of msgs) {
      const env = decodeEnvelope(msg.value!);
      const item = sent.get(env.hep.toString('base64'));
      assert.ok(item, 'every value carries a sent packet byte for byte (less its auth key)');
      assert.equal(env.hep.includes(Buffer.from(COLLECTOR_HEP_AUTH_KEY)), false, 'no auth key in Kafka');
      assert.equal(msg.key!.toString(), item.callId, 'keyed by Call-ID');
      families[env.senderFamily]!++;
      if (env.senderFamily === 6) assert.equal(env.senderIp, '::1');
      const p = decodeHep(env.hep);
      if (p.ipFamily === 6) {
        hepV6++;
        assert.equal(p.srcIp, '2001:db8::7');
        if (headers === 'full') assert.equal(msg.headers!['src']!.toString(), '[2001:db8::7]:5060');
      }
      if (headers === 'none') assert.deepEqual(Object.keys(msg.headers ?? {}), []);
    }
    for (const path of byPath) {
      const pos = new Map(msgs.map((m, i) => [decodeEnvelope(m.value!).hep.toString('base64'), i]));
      // Kafka order is per partition; one Call-ID is one partition, so per-call sequence must rise in offset order.
      const perCall = new Map<string, Array<{ seq: number; at: number }>>();
      for (const it of path) {
        const list = perCall.get(it.callId) ?? [];
        list.push({ seq: it.seq, at: pos.get(stored(it.bytes))! });
        perCall.set(it.callId, list);
      }
      for (const [callId, list] of perCall) {
        const byOffset = [...list].sort((a, b) => a.at - b.at).map((x) => x.seq);
        assert.deepEqual(byOffset, [...byOffset].sort((a, b) => a - b), `order of ${callId}`);
      }
    }
    assert.equal(families[4], byPath[0]!.length);
    assert.equal(families[6], byPath[1]!.length + byPath[2]!.length);
    assert.ok(hepV6 > 0, 'the mix carries IPv6 HEP chunks');
    assert.equal(c.stats.droppedTotal(), 0);
  });

  test('fuzzed, truncated and wrong-key packets are counted by reason; the collector keeps going', { timeout: 60_000 }, async () => {
    const c = h.wiring.collector;
    const before = new Map(c.stats.dropped);
    const good = hepPacket('OPTIONS sip:x SIP/2.0\r\nCall-ID: fuzz-ok\r\n\r\n', { authKey: COLLECTOR_HEP_AUTH_KEY, payloadType: 100 });
    const bad: Buffer[] = [];
    for (let i = 0; i < 50; i++) bad.push(good.subarray(0, 10 + i)); // truncated: length field disagrees
    for (let i = 0; i < 30; i++) bad.push(Buffer.from(`junk-${i}-${'z'.repeat(i)}`));
    const wrongKey = Array.from({ length: 20 }, () => hepPacket('OPTIONS sip:x SIP/2.0\r\n\r\n', { authKey: 'wrong', payloadType: 100 }));
    const noKey = Array.from({ length: 5 }, () => hepPacket('OPTIONS sip:x SIP/2.0\r\n\r\n', { payloadType: 100 }));
    await sendUdp('127.0.0.1', h.udpPort, [...bad, ...wrongKey, ...noKey, good]);
    await sendTcp('127.0.0.1', h.tcpPort, [good, Buffer.from('not hep at all')]).catch(() => undefined);
    const logs = await h.consume(h.topic('hepLog'), 2, 30_000);
    assert.equal(logs.length, 2, 'the good packets before and after the junk arrive');
    const delta = (k: string): number => (c.stats.dropped.get(k) ?? 0) - (before.get(k) ?? 0);
    // Two things can still be on their way when the consumer has the second good packet: the TCP junk sent after it,
    // and the publisher's handling of that packet's acknowledgement. Wait for both (a bound, not a fixed pause).
    const acked = /tollgate_collector_records_total\{topic="[^"]+hep\.log",outcome="acked"\} 2\n/;
    for (const end = Date.now() + 10_000; Date.now() < end;) {
      if (delta('decode:bad_magic') >= 31 && acked.test(await h.registry.metrics())) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(delta('decode:bad_length'), 50);
    assert.equal(delta('decode:bad_magic'), 30 + 1);
    assert.equal(delta('auth'), 25);
    assert.equal(c.stats.connectionsClosed.get('tcp|framing:bad_magic'), 1);
    const text = await h.registry.metrics();
    assert.match(text, /tollgate_collector_dropped_total\{reason="auth"\} 25/);
    assert.match(text, /tollgate_collector_records_total\{topic="[^"]+hep\.log",outcome="acked"\} 2/);
    assert.equal(c.health().state, 'ok');
  });
});
