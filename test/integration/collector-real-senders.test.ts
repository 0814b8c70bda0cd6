/**
 * Real HEP senders into the collector and Kafka: Kamailio 5.6 (siptrace, driven by sipp) and sngrep (replaying a
 * pcap we write here). Loopback only, bounded message counts and timeouts.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { decodeEnvelope } from '../../services/shared/hep/envelope.ts';
import { decodeHep } from '../../services/shared/hep/index.ts';
import { KAMAILIO, OPTIONS_SCENARIO, run, SIPP, SNGREP, startKamailio, writeTemp } from '../support/kamailio.ts';
import { freePort } from '../support/ports.ts';
import { startHarness, type Harness } from './collector-harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const PINGS = 40;
/** Messages already in the topic from the Kamailio test (0 when it was skipped). */
let mirrored = 0;

test('Kamailio + sipp: every OPTIONS received and every reply sent is mirrored, exactly 2 per ping', { timeout: 90_000, skip: !existsSync(KAMAILIO) || !existsSync(SIPP) }, async () => {
  const kam = await startKamailio(h.udpPort);
  const scenario = writeTemp('options.xml', OPTIONS_SCENARIO);
  try {
    const localPort = await freePort();
    const r = await run(SIPP, ['-sf', scenario.path, `127.0.0.1:${kam.sipPort}`, '-i', '127.0.0.1', '-p', String(localPort),
      '-m', String(PINGS), '-r', '50', '-nostdin', '-timeout', '30', '-timeout_error'], 45_000);
    assert.equal(r.code, 0, `sipp failed: ${r.stderr.slice(-500)}`);
    // Kamailio mirrors the request it received and the 200 it sent for each ping: 2 x PINGS, no more, no less.
    const msgs = await h.consume(h.topic('hepSip'), 2 * PINGS, 30_000, 2_000);
    assert.equal(msgs.length, 2 * PINGS);
    const perCall = new Map<string, string[]>();
    for (const m of msgs) {
      const env = decodeEnvelope(m.value!);
      const p = decodeHep(env.hep);
      assert.equal(p.version, 3);
      assert.equal(p.captureId, 2001, 'capture id from the sample config');
      const firstLine = p.payload.toString('latin1').split('\r\n')[0]!;
      const list = perCall.get(m.key!.toString()) ?? [];
      list.push(firstLine.startsWith('OPTIONS') ? 'req' : firstLine.startsWith('SIP/2.0 200') ? 'rep' : firstLine);
      perCall.set(m.key!.toString(), list);
    }
    assert.equal(perCall.size, PINGS, 'one Kafka key per sipp Call-ID');
    for (const [callId, seq] of perCall) assert.deepEqual(seq, ['req', 'rep'], `order for ${callId}`);
    assert.equal(h.wiring.collector.stats.droppedTotal(), 0);
    mirrored = msgs.length;
  } finally {
    scenario.cleanup();
    await kam.stop();
  }
});

/** Classic pcap (LINKTYPE_RAW): each record an IPv4 + UDP packet carrying one SIP message. */
function pcap(messages: readonly string[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20); // LINKTYPE_RAW: packets start at the IP header
  const parts = [head];
  const t0 = Math.floor(Date.now() / 1000);
  messages.forEach((msg, i) => {
    const payload = Buffer.from(msg, 'latin1');
    const ip = Buffer.alloc(20 + 8);
    ip[0] = 0x45;
    ip.writeUInt16BE(28 + payload.length, 2);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([192, 0, 2, 10]).copy(ip, 12);
    Buffer.from([192, 0, 2, 20]).copy(ip, 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    ip.writeUInt16BE(i % 2 === 0 ? 5060 : 5080, 20);
    ip.writeUInt16BE(i % 2 === 0 ? 5080 : 5060, 22);
    ip.writeUInt16BE(8 + payload.length, 24);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(t0, 0);
    rec.writeUInt32LE(i * 1000, 4);
    rec.writeUInt32LE(ip.length + payload.length, 8);
    rec.writeUInt32LE(ip.length + payload.length, 12);
    parts.push(rec, ip, payload);
  });
  return Buffer.concat(parts);
}

function sipPair(n: number): string[] {
  const callId = `sngrep-${n}@192.0.2.10`;
  const common = [`Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK${n}`, `From: <sip:a@192.0.2.10>;tag=f${n}`,
  ];
  const req = [`OPTIONS sip:b@192.0.2.20:5080 SIP/2.0`, common[0], common[1], `To: <sip:b@192.0.2.20>`, `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  const rep = ['SIP/2.0 200 OK', common[0], common[1], `To: <sip:b@192.0.2.20>;tag=t${n}`, `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
  return [req, rep];
}

test('sngrep replays a pcap we wrote and sends every SIP message as HEP', { timeout: 60_000, skip: !existsSync(SNGREP) }, async () => {
  const CALLS = 10;
  const messages = Array.from({ length: CALLS }, (_, i) => sipPair(i)).flat();
  const file = writeTemp('sip.pcap', '');
  writeFileSync(file.path, pcap(messages));
  try {
    const r = await run(SNGREP, ['-N', '-q', '-I', file.path, '-H', `udp:127.0.0.1:${h.udpPort}`], 20_000);
    assert.equal(r.code, 0, `sngrep failed (${r.code}): ${r.stderr.slice(-500)}`);
    const before = new Set<string>();
    const msgs = (await h.consume(h.topic('hepSip'), messages.length + mirrored, 30_000, 2_000))
      .filter((m) => m.key!.toString().startsWith('sngrep-'));
    for (const m of msgs) before.add(m.key!.toString());
    assert.equal(msgs.length, messages.length);
    assert.equal(before.size, CALLS);
    const p = decodeHep(decodeEnvelope(msgs[0]!.value!).hep);
    assert.equal(p.srcIp.startsWith('192.0.2.'), true, 'addresses from the pcap, not the loopback sender');
  } finally {
    file.cleanup();
  }
});
