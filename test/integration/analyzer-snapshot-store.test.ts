/**
 * Tracker snapshots are stored as RowBinary; before, the same row went in as a JSON insert. Both paths, against the
 * real engine: every state (fast-check strings over all of Unicode, quotes, backslashes and control characters, a
 * real tracker snapshot of the golden stream, a multi-megabyte one) reads back identical from both, and the two
 * rows are identical in every column but the insert time. The newest-at-or-below lookup finds them as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DialogTracker, RegistrationTracker } from '../../services/analyzer/correlation/index.ts';
import { IngestState, type PartitionKey } from '../../services/analyzer/store/ingest-state.ts';
import { goldenStream } from '../unit/correlation/golden-stream.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

describe('tracker snapshots: RowBinary and JSON inserts store the same row', { timeout: 300_000 }, () => {
  const env = new AnalyzerEnv();
  before(() => env.setup());
  after(() => env.cleanup());

  /** What the analyzer stores a partition's trackers as (the text `snapshotState` writes). */
  function trackerState(): string {
    const d = new DialogTracker();
    const r = new RegistrationTracker();
    const stream = goldenStream();
    for (const m of stream.slice(0, stream.length >> 1)) {
      d.observe(m);
      r.observe(m);
    }
    return `{"dialogs":${d.snapshotJson()},"registrations":${r.snapshotJson()},"clock":{"captureUs":1,"kafkaMs":2}}`;
  }

  it('every state reads back identical from both paths, and the rows are equal', async () => {
    const rowBinary = new IngestState(env.store);
    // The JSON insert IngestState made before, written as it wrote it; read back through the same lookup.
    const json = {
      saveSnapshot: (key: PartitionKey, offset: number, format: number, state: string) => env.store.insert('analyzer_snapshots', [{
        consumer_group: key.group, topic: key.topic, partition: key.partition, offset, format, state,
      }]),
      latestSnapshot: (key: PartitionKey, atMost: number) => rowBinary.latestSnapshot(key, atMost),
    };
    const states = [
      trackerState(),
      `{"x":"${'q"\\\n\t\u0001é漢🎉'.repeat(200_000)}"}`,
      '',
      ...fc.sample(fc.string({ unit: 'grapheme', maxLength: 300 }), { numRuns: 40, seed: 12 }),
      ...fc.sample(fc.string({ unit: 'binary', maxLength: 300 }).map((s) => JSON.stringify({ s })), { numRuns: 40, seed: 13 }),
    ];
    const k = (partition: number): PartitionKey => ({ group: 'g-snap', topic: 'snap.hep.sip', partition });
    for (const [i, state] of states.entries()) {
      await json.saveSnapshot(k(0), 100 + i, 1, state);
      await rowBinary.saveSnapshot(k(1), 100 + i, 1, state);
    }
    for (const [i, state] of states.entries()) {
      const a = await json.latestSnapshot(k(0), 100 + i);
      const b = await rowBinary.latestSnapshot(k(1), 100 + i);
      assert.deepEqual(a, { offset: 100 + i, format: 1, state }, `JSON path, state ${i}`);
      assert.deepEqual(b, { offset: 100 + i, format: 1, state }, `RowBinary path, state ${i}`);
    }
    const rows = async (partition: number): Promise<string[]> =>
      (await env.store.query<Record<string, unknown>>(
        `SELECT consumer_group, topic, offset, format, state, length(state) AS bytes FROM analyzer_snapshots
         WHERE partition = {p:UInt32} ORDER BY offset SETTINGS output_format_json_quote_64bit_integers = 1`, { p: partition }))
        .map((r) => JSON.stringify(r));
    const [fromJson, fromRowBinary] = [await rows(0), await rows(1)];
    assert.equal(fromJson.length, states.length);
    assert.deepEqual(fromRowBinary, fromJson);
    // The lookup between and below stored offsets is unchanged.
    assert.equal((await rowBinary.latestSnapshot(k(1), 100 + states.length + 50))?.offset, 100 + states.length - 1);
    assert.equal(await rowBinary.latestSnapshot(k(1), 99), undefined);
  });
});
