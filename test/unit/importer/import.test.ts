/** The import command without Kafka: arguments, what it publishes for a real capture, time shift and pacing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeEnvelope, decodeHep } from '../../../services/importer/wire.ts';
import { captureIdFor, importCapture } from '../../../services/importer/import.ts';
import { formatSummary, parseImportArgs } from '../../../services/importer/main.ts';
import { ImporterErrors } from '../../../services/importer/errors.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import type { OutgoingRecord } from '../../../services/shared/kafka/producer.ts';

const DIR = fileURLToPath(new URL('../../fixtures/pcap/', import.meta.url));

describe('npm run import: arguments', () => {
  it('reads the file, --shift-to-now, --speed N and --speed=N, --json', () => {
    assert.deepEqual(parseImportArgs(['a.pcap']), { file: 'a.pcap', shiftToNow: false, speed: undefined, json: false });
    assert.deepEqual(parseImportArgs(['--shift-to-now', 'a.pcapng', '--speed', '2.5', '--json']), { file: 'a.pcapng', shiftToNow: true, speed: 2.5, json: true });
    assert.equal(parseImportArgs(['a.pcap', '--speed=10']).speed, 10);
  });

  for (const [argv, msg] of [
    [[], /no capture file given/], [['a', 'b'], /one capture file at a time, got a and b/], [['a', '--speed', '0'], /--speed needs a positive number .* got 0/],
    [['a', '--speed'], /got nothing/], [['a', '--fast'], /unknown option --fast/],
  ] as const) {
    it(`refuses ${JSON.stringify(argv)} naming what is wrong`, () => {
      assert.throws(() => parseImportArgs(argv), (e: unknown) => isTollgateError(e, ImporterErrors.badArgs) && msg.test((e as Error).message) && /usage: npm run import/.test((e as Error).message));
    });
  }
});

describe('npm run import: what is published', () => {
  it('a real capture: one record per SIP message on the SIP topic, keyed by Call-ID, HEP naming the file', async () => {
    const sent: OutgoingRecord[] = [];
    const s = await importCapture({ path: `${DIR}sngrep-aaa.pcap`, topicPrefix: 't.', send: async (b) => void sent.push(...b), batchRecords: 7 });
    assert.equal(sent.length, 81);
    assert.equal(s.published, 81);
    assert.ok(sent.every((r) => r.topic === 't.hep.sip'));
    const hep = sent.map((r) => decodeHep(decodeEnvelope(r.value).hep));
    assert.ok(hep.every((h) => h.captureId === captureIdFor('sngrep-aaa.pcap') && h.nodeName === 'pcap:sngrep-aaa.pcap' && h.payloadType === 1));
    assert.ok(sent.every((r, i) => hep[i]!.payload.toString('latin1').includes(`Call-ID: ${r.key.toString()}`) || hep[i]!.payload.toString('latin1').includes(`i: ${r.key.toString()}`)));
    assert.equal(new Set(sent.map((r) => r.key.toString())).size, 6);
    // Capture times as captured (2005-07-04), no shift asked.
    assert.equal(hep[0]!.timestampSec * 1_000_000 + hep[0]!.timestampUsec, s.firstTsUs);
    assert.equal(new Date(s.firstTsUs! / 1000).getUTCFullYear(), 2005);
    assert.match(formatSummary(s), /packets read +691\n +SIP messages +81\n.*\n +calls +4\n +registrations +18\n.*\n +skipped +not_sip 517, not_ip 44, tcp_control 28, keepalive 21/);
  });

  it('--shift-to-now moves the last packet to now; with --speed, the first, and sends at the captured pace', async () => {
    const before = Date.now() * 1000;
    const shifted = await importCapture({ path: `${DIR}sngrep-ipip.pcap`, topicPrefix: 't.', shiftToNow: true, send: async () => {} });
    assert.ok(Math.abs(shifted.lastTsUs! - before) < 5_000_000, `last packet at ${shifted.lastTsUs}, now ${before}`);
    const span = shifted.lastTsUs! - shifted.firstTsUs!;
    const speed = Math.max(1, span / 1_500_000);
    const t0 = Date.now();
    const paced = await importCapture({ path: `${DIR}sngrep-ipip.pcap`, topicPrefix: 't.', shiftToNow: true, speed, send: async () => {} });
    const took = Date.now() - t0;
    assert.ok(Math.abs(paced.firstTsUs! - t0 * 1000) < 5_000_000, 'first packet at the start of the replay');
    assert.ok(took >= span / speed / 1000 - 50, `took ${took} ms for ${span / 1000} ms of capture at speed ${speed}`);
  });
});
