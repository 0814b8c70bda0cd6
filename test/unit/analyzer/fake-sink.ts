/** An in-memory BatchSink that behaves like ClickHouse's token deduplication and Kafka's committed offset. */
import type { BatchSink, IdleAdvance } from '../../../services/analyzer/consumer/partition.ts';
import type { OffsetRange } from '../../../services/analyzer/consumer/plan.ts';
import { SipEventLines } from '../../../services/analyzer/event-records.ts';
import type { QuarantineEvent, SipEvent } from '../../../services/analyzer/events.ts';
import { isEncodedRows, type RowBlock } from '../../../services/analyzer/store/encoded-rows.ts';
import { encodeRowBinary } from '../../../services/analyzer/store/row-binary.ts';
import type { TableName } from '../../../services/analyzer/store/rows.ts';
import { CODECS } from '../../../services/analyzer/store/table-writer.ts';
import { CLICKHOUSE_REJECTED } from '../../../services/shared/clickhouse/errors.ts';
import { TollgateError } from '../../../services/shared/errors.ts';
import type { StoredSnapshot } from '../../../services/analyzer/store/ingest-state.ts';

export class FakeSink implements BatchSink {
  readonly tokens = new Set<string>();
  readonly tables = new Map<string, Record<string, unknown>[]>();
  readonly ledger: Array<OffsetRange & { rows: number }> = [];
  readonly advances: Array<IdleAdvance & { rows: number }> = [];
  readonly snapshots: StoredSnapshot[] = [];
  readonly events: Array<SipEvent | QuarantineEvent> = [];
  /** SIP events published as v2 lines (`sipEvents: 'lines'`), in publish order. */
  readonly lines: string[] = [];
  /** With `recordBodies`: the RowBinary body of every insert by token, before deduplication (object rows encoded as
   * the table writer encodes them, so a value the encoder refuses throws as it does in production). */
  readonly bodies = new Map<string, Buffer>();
  recordBodies = false;
  /** The SIP events of each publish, as given. */
  readonly published: Array<readonly SipEvent[] | SipEventLines> = [];
  committed: number | undefined;
  duplicatesDropped = 0;
  /** Throw on the next N inserts (a failing ClickHouse). */
  failInserts = 0;
  /** Throws "crash" when this many inserts have been acknowledged (simulates a SIGKILL mid-batch). */
  crashAfterInserts = Infinity;
  inserts = 0;
  /** Rows the "table" refuses for good, as ClickHouse does for a value a column cannot take: the whole block fails. */
  refuse: ((table: string, row: Record<string, unknown>) => boolean) | undefined;
  refusals = 0;
  /** Set by a simulated crash: the worker's retry loop sees it as a stop and gives up uncommitted. */
  crashed = false;

  async recordRange(range: OffsetRange, rows: number): Promise<void> {
    this.ledger.push({ ...range, rows });
  }

  async recordAdvance(a: IdleAdvance, rows: number): Promise<void> {
    this.advances.push({ ...a, rows });
  }

  async advancesFrom(from: number): Promise<IdleAdvance[]> {
    const seen = new Map<string, IdleAdvance>();
    for (const a of this.advances) if (a.at >= from) seen.set(`${a.at}:${a.toUs}`, { at: a.at, toUs: a.toUs });
    return [...seen.values()].sort((a, b) => a.at - b.at || a.toUs - b.toUs);
  }

  async insert(table: string, block: RowBlock, token: string): Promise<void> {
    // As the store does: the body is made (and a value the encoder refuses throws) before anything is sent.
    if (this.recordBodies) {
      this.bodies.set(token, Buffer.concat(isEncodedRows(block) ? block.body() : encodeRowBinary(CODECS[table as TableName], block)));
    }
    const rows = isEncodedRows(block) ? block.objects() : block;
    if (this.failInserts > 0) {
      this.failInserts--;
      throw new Error('ClickHouse unavailable (fake)');
    }
    if (this.inserts >= this.crashAfterInserts) {
      this.crashed = true;
      throw new CrashError();
    }
    this.inserts++;
    if (this.refuse !== undefined && rows.some((r) => this.refuse!(table, r))) {
      this.refusals++;
      throw new TollgateError(CLICKHOUSE_REJECTED, `ClickHouse error 469 (VIOLATED_CONSTRAINT): refused (fake) in ${table}`, { serverCode: '469' });
    }
    if (this.tokens.has(token)) {
      this.duplicatesDropped++;
      return;
    }
    this.tokens.add(token);
    const list = this.tables.get(table) ?? [];
    list.push(...rows.map((r) => structuredClone(r)));
    this.tables.set(table, list);
  }

  async publish(sip: readonly SipEvent[] | SipEventLines, q: readonly QuarantineEvent[]): Promise<void> {
    this.published.push(sip);
    if (sip instanceof SipEventLines) this.lines.push(...sip.lines());
    else this.events.push(...sip);
    this.events.push(...q);
  }

  async commit(next: number): Promise<void> {
    this.committed = next;
  }

  async saveSnapshot(offset: number, state: string): Promise<void> {
    this.snapshots.push({ offset, format: 1, state });
  }

  async latestSnapshot(atMost: number): Promise<StoredSnapshot | undefined> {
    return this.snapshots.filter((s) => s.offset <= atMost).sort((a, b) => b.offset - a.offset)[0];
  }

  async rangesFrom(from: number): Promise<OffsetRange[]> {
    const seen = new Map<number, number>();
    for (const r of this.ledger) if (r.first >= from && !seen.has(r.first)) seen.set(r.first, r.last);
    return [...seen].sort((a, b) => a[0] - b[0]).map(([first, last]) => ({ first, last }));
  }

  rows(table: string): Record<string, unknown>[] {
    return this.tables.get(table) ?? [];
  }
}

export class CrashError extends Error {}
