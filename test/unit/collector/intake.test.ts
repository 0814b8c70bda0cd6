import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrList } from '../../../services/collector/cidr.ts';
import { decodeEnvelope, senderFromSocket } from '../../../services/shared/hep/envelope.ts';
import { decodeHep, encodeHep } from '../../../services/shared/hep/index.ts';
import { Intake, routeOf, type IntakeOptions, type Sender } from '../../../services/collector/intake.ts';
import type { CaptureRecord } from '../../../services/collector/publish/record.ts';
import { hepPacket, sipMessage } from '../../support/hep-sender.ts';

const PREFIX = 't.';

function sender(ip = '10.0.0.9', port = 5060, allow?: CidrList): Sender {
  const env = senderFromSocket(ip, port)!;
  return Intake.sender(ip, port, env, allow === undefined || allow.contains(env));
}

function run(bytes: Buffer, opts: Partial<IntakeOptions> = {}, s = sender()): CaptureRecord | string {
  return new Intake({ topicPrefix: PREFIX, ...opts }).process(bytes, s, process.hrtime.bigint(), 'udp');
}

function accepted(r: CaptureRecord | string): CaptureRecord {
  assert.equal(typeof r, 'object', `dropped: ${String(r)}`);
  return r as CaptureRecord;
}

const INVITE = sipMessage({ method: 'INVITE', callId: 'call-abc@host', cseq: 1, v6: false });

test('accepted: topic, key from the Call-ID, headers, value is the envelope around the untouched HEP bytes', () => {
  const bytes = hepPacket(INVITE, { captureId: 7, nodeName: 'edge-1' });
  const r = accepted(run(bytes));
  assert.equal(r.topic, 't.hep.sip');
  assert.equal(r.key.toString(), 'call-abc@host');
  const env = decodeEnvelope(r.value);
  assert.ok(env.hep.equals(bytes));
  assert.equal(env.senderIp, '10.0.0.9');
  assert.equal(env.timestampFixed, false);
  assert.equal(r.headers['type'], '1');
  assert.equal(r.headers['cid'], '7');
  assert.equal(r.headers['node'], 'edge-1');
  assert.equal(r.headers['src'], '198.51.100.7:5060');
  assert.equal(r.headers['dst'], '203.0.113.20:5060');
  assert.equal(r.headers['ts_fixed'], undefined);
  const p = decodeHep(bytes);
  assert.equal(r.headers['ts'], String(BigInt(p.timestampSec) * 1_000_000n + BigInt(p.timestampUsec)));
});

test('IPv6 HEP addresses are shown bracketed in the src/dst headers', () => {
  const r = accepted(run(hepPacket(INVITE, { v6: true })));
  assert.equal(r.headers['src'], '[2001:db8::7]:5060');
});

test('minimal headers keep only the type', () => {
  const r = accepted(run(hepPacket(INVITE), { headers: 'minimal' }));
  assert.deepEqual(Object.keys(r.headers), ['type']);
});

test('key precedence: correlation id, then Call-ID (long or compact), then sender ip:port', () => {
  assert.equal(accepted(run(hepPacket(INVITE, { correlationId: 'corr-1' }))).key.toString(), 'corr-1');
  const compact = sipMessage({ method: 'BYE', callId: 'short-form', cseq: 2, v6: false, compact: true });
  assert.equal(accepted(run(hepPacket(compact))).key.toString(), 'short-form');
  assert.equal(accepted(run(hepPacket('no sip here'))).key.toString(), '10.0.0.9:5060');
  assert.equal(accepted(run(hepPacket('x'), {}, sender('2001:db8::5', 9))).key.toString(), '[2001:db8::5]:9');
  // Only SIP payloads are scanned for a Call-ID.
  assert.equal(accepted(run(hepPacket(INVITE, { payloadType: 100 }))).key.toString(), '10.0.0.9:5060');
});

test('routing by payload type', () => {
  const expect: Array<[number, string]> = [[1, 'hep.sip'], [5, 'hep.rtcp'], [32, 'hep.qos'], [34, 'hep.qos'], [35, 'hep.qos'],
    [100, 'hep.log'], [86, 'hep.log'], [87, 'hep.log'], [53, 'hep.other'], [0, 'hep.other'], [255, 'hep.other']];
  for (const [type, topic] of expect) {
    assert.equal(accepted(run(hepPacket('{}', { payloadType: type }))).topic, `${PREFIX}${topic}`, `type ${type}`);
  }
  assert.equal(routeOf(200), 'hepOther');
});

test('drop: decode:<reason> for bytes that are not HEP', () => {
  assert.equal(run(Buffer.from('garbage!')), 'decode:bad_magic');
  const good = hepPacket(INVITE);
  assert.equal(run(good.subarray(0, good.length - 3)), 'decode:bad_length');
  assert.equal(run(good, { maxPacketSize: 100 }), 'decode:too_large');
});

test('drop: auth when the key is missing or wrong; accepted when right', () => {
  const opts = { authKey: 's3cret' };
  assert.equal(run(hepPacket(INVITE), opts), 'auth');
  assert.equal(run(hepPacket(INVITE, { authKey: 's3creT' }), opts), 'auth');
  assert.equal(run(hepPacket(INVITE, { authKey: 's3cret-longer' }), opts), 'auth');
  accepted(run(hepPacket(INVITE, { authKey: 's3cret' }), opts));
  // No key configured: keys sent anyway are ignored.
  accepted(run(hepPacket(INVITE, { authKey: 'whatever' })));
});

test('drop: capture_id outside the allowlist', () => {
  const opts = { captureIds: new Set([1, 2]) };
  assert.equal(run(hepPacket(INVITE, { captureId: 3 }), opts), 'capture_id');
  accepted(run(hepPacket(INVITE, { captureId: 2 }), opts));
  accepted(run(hepPacket(INVITE, { captureId: 3 }), { captureIds: new Set() }));
});

test('drop: source_not_allowed for senders outside HEP_ALLOWED_SOURCES (v4 and v6)', () => {
  const allow = CidrList.parse('10.0.0.0/8, 2001:db8::/32');
  accepted(run(hepPacket(INVITE), {}, sender('10.200.0.1', 1, allow)));
  accepted(run(hepPacket(INVITE), {}, sender('2001:db8:ffff::1', 1, allow)));
  assert.equal(run(hepPacket(INVITE), {}, sender('192.168.1.1', 1, allow)), 'source_not_allowed');
  assert.equal(run(hepPacket(INVITE), {}, sender('2001:db9::1', 1, allow)), 'source_not_allowed');
});

test('timestamps: zero or beyond the skew are replaced by the receive time and flagged; past ones kept', () => {
  const nowSec = Math.floor(Date.now() / 1000);
  for (const ts of [0, nowSec + 3600]) {
    const r = accepted(run(hepPacket(INVITE, { timestampSec: ts })));
    assert.equal(r.headers['ts_fixed'], '1');
    assert.equal(decodeEnvelope(r.value).timestampFixed, true);
    const us = Number(r.headers['ts']);
    assert.ok(Math.abs(us / 1000 - Date.now()) < 2_000, `ts ${us} not near now`);
  }
  const within = accepted(run(hepPacket(INVITE, { timestampSec: nowSec + 2 })));
  assert.equal(within.headers['ts_fixed'], undefined);
  const old = accepted(run(hepPacket(INVITE, { timestampSec: nowSec - 86_400 })));
  assert.equal(old.headers['ts_fixed'], undefined);
  assert.equal(old.headers['ts']!.slice(0, 10), String(nowSec - 86_400));
});

test('envelope receive time is wall-clock ns near now; receivedAtNs is the monotonic time given', () => {
  const intake = new Intake({ topicPrefix: PREFIX });
  const hr = process.hrtime.bigint();
  const r = intake.process(hepPacket(INVITE), sender(), hr, 'tcp') as CaptureRecord;
  assert.equal(r.receivedAtNs, hr);
  const env = decodeEnvelope(r.value);
  assert.equal(env.transport, 'tcp');
  assert.ok(Math.abs(Number(env.receivedAtNs / 1_000_000n) - Date.now()) < 1_000);
});

test('CIDR list: bad entries are refused with a typed error; single addresses and /0 work', () => {
  assert.throws(() => CidrList.parse('10.0.0.0/33'), /HEP_ALLOWED_SOURCES/);
  assert.throws(() => CidrList.parse('nope'), /HEP_ALLOWED_SOURCES/);
  assert.throws(() => CidrList.parse('::/129'), /HEP_ALLOWED_SOURCES/);
  const l = CidrList.parse('192.0.2.7, 0.0.0.0/0');
  assert.equal(l.contains(senderFromSocket('8.8.8.8', 1)!), true);
  assert.equal(CidrList.parse('192.0.2.7').contains(senderFromSocket('192.0.2.8', 1)!), false);
  assert.equal(CidrList.parse('10.0.0.0/9').contains(senderFromSocket('10.128.0.1', 1)!), false);
  assert.equal(CidrList.parse('10.0.0.0/9').contains(senderFromSocket('10.127.0.1', 1)!), true);
});

test('the HEP auth key (chunk 14) never leaves the collector: stripped, the rest byte-identical and decodable', () => {
  const withKey = hepPacket(INVITE, { authKey: 's3cret-hep-key', captureId: 9, nodeName: 'edge-1' });
  // The same packet (same timestamp) encoded without the key.
  const withoutKey = encodeHep({ ...decodeHep(withKey), authKey: undefined });
  for (const opts of [{ authKey: 's3cret-hep-key' }, {}]) {
    const r = accepted(run(withKey, opts));
    assert.equal(r.value.includes(Buffer.from('s3cret-hep-key')), false);
    const hep = decodeEnvelope(r.value).hep;
    assert.deepEqual(hep, withoutKey, 'the packet equals the same packet encoded without a key');
    const p = decodeHep(hep);
    assert.equal(p.authKey, undefined);
    assert.equal(p.captureId, 9);
    assert.equal(p.nodeName, 'edge-1');
    assert.deepEqual(p.payload, decodeHep(withKey).payload);
  }
});
