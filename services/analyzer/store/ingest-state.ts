/**
 * The analyzer's bookkeeping tables: the ingest ledger (batch ranges, written before the data) and the per-partition
 * tracker snapshots. Both go through the SqlStore port with typed parameters.
 */
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import type { OffsetRange } from '../consumer/plan.ts';
import { encodeRowBinary, tableCodec } from './row-binary.ts';
import { bodySender } from './table-writer.ts';

/**
 * `analyzer_snapshots` as RowBinary (sql/0002_qos_and_ingest_state.sql; `written_at` takes its default). A state is
 * megabytes of JSON text: sent as its UTF-8 bytes it costs a third of the CPU of escaping it into a JSON insert body
 * (bench/PROFILE.md, "Changed-only snapshots"). The stored row is the one the JSON insert stored
 * (test/integration/analyzer-snapshot-store.test.ts).
 */
export const SNAPSHOT_CODEC = tableCodec('analyzer_snapshots', {
  consumer_group: 'String', topic: 'String', partition: 'UInt32', offset: 'UInt64', format: 'UInt16', state: 'String',
});

export interface PartitionKey {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

export interface StoredSnapshot {
  readonly offset: number;
  readonly format: number;
  readonly state: string;
}

export class IngestState {
  constructor(private readonly store: SqlStore) {}

  async recordRange(k: PartitionKey, range: OffsetRange, rows: number): Promise<void> {
    await this.store.insert('ingest_ledger', [{
      consumer_group: k.group, topic: k.topic, partition: k.partition, first_offset: range.first, last_offset: range.last, rows,
    }]);
  }

  /** Recorded ranges starting at or after `from`, ascending. A range recorded twice (a replay) is the same range;
   * should two ever disagree, the first written is the one whose token the data carries. */
  async rangesFrom(k: PartitionKey, from: number): Promise<OffsetRange[]> {
    const rows = await this.store.query<{ first: string; last: string }>(
      `SELECT toString(first_offset) AS first, toString(argMin(last_offset, written_at)) AS last
       FROM ingest_ledger
       WHERE consumer_group = {g:String} AND topic = {t:String} AND partition = {p:UInt32} AND first_offset >= {from:UInt64}
       GROUP BY first_offset ORDER BY first_offset`,
      { g: k.group, t: k.topic, p: k.partition, from });
    return rows.map((r) => ({ first: Number(r.first), last: Number(r.last) }));
  }

  async recordAdvance(k: PartitionKey, at: number, toUs: number, rows: number): Promise<void> {
    await this.store.insert('ingest_advances', [{
      consumer_group: k.group, topic: k.topic, partition: k.partition, at_offset: at, advance_to_us: toUs, rows,
    }]);
  }

  /** Recorded idle advances at or after offset `from`, in the order they were taken. */
  async advancesFrom(k: PartitionKey, from: number): Promise<Array<{ at: number; toUs: number }>> {
    const rows = await this.store.query<{ at: string; to_us: string }>(
      `SELECT DISTINCT toString(at_offset) AS at, toString(advance_to_us) AS to_us, at_offset, advance_to_us
       FROM ingest_advances
       WHERE consumer_group = {g:String} AND topic = {t:String} AND partition = {p:UInt32} AND at_offset >= {from:UInt64}
       ORDER BY at_offset, advance_to_us`,
      { g: k.group, t: k.topic, p: k.partition, from });
    return rows.map((r) => ({ at: Number(r.at), toUs: Number(r.to_us) }));
  }

  async saveSnapshot(k: PartitionKey, offset: number, format: number, state: string): Promise<void> {
    const send = bodySender(this.store);
    const row = { consumer_group: k.group, topic: k.topic, partition: k.partition, offset, format, state };
    await send('analyzer_snapshots', SNAPSHOT_CODEC.columns, { format: 'RowBinary', chunks: encodeRowBinary(SNAPSHOT_CODEC, [row]), rows: 1 });
  }

  /** The newest snapshot taken at or before `atMost` (the committed offset). */
  async latestSnapshot(k: PartitionKey, atMost: number): Promise<StoredSnapshot | undefined> {
    // Aliases must not reuse column names: ClickHouse resolves WHERE against SELECT aliases first.
    const rows = await this.store.query<{ snap_offset: string; format: number; snap_state: string }>(
      `SELECT toString(offset) AS snap_offset, format, argMax(state, written_at) AS snap_state
       FROM analyzer_snapshots
       WHERE consumer_group = {g:String} AND topic = {t:String} AND partition = {p:UInt32} AND offset <= {o:UInt64}
       GROUP BY offset, format ORDER BY offset DESC LIMIT 1`,
      { g: k.group, t: k.topic, p: k.partition, o: atMost });
    const r = rows[0];
    return r === undefined ? undefined : { offset: Number(r.snap_offset), format: Number(r.format), state: r.snap_state };
  }
}
