/**
 * A batch's rows of one table as their RowBinary encoding, written while the batch is decoded (no row object per
 * message): what `sip_messages` is on the hot path (services/analyzer/consumer/decode.ts). It stands in for the
 * array of row objects everywhere the batch protocol handles rows: it has a length, slices into the halves the
 * isolation of refused rows inserts (services/analyzer/consumer/partition.ts), gives the insert body of any slice,
 * and gives row objects back (`objects()`) for the rare paths that need them (a row the table refused, going to the
 * quarantine; the JSON insert format).
 *
 * The body of a slice is the concatenation of its rows' bytes, i.e. exactly what `RowsWriter` writes for the same
 * rows as objects (test/unit/analyzer/direct-rows.test.ts), so tokens, bodies and replays are those of the object
 * path. A row whose values the positional writer does not take plainly is kept as its object, and written (or
 * refused, with the row number of the slice) by the table's `RowsWriter` when a body includes it.
 */
import { readRows, RowBinaryWriter, type TableCodec, type ValuesWriter } from './row-binary.ts';

type Row = Readonly<Record<string, unknown>>;

/** Rows of one table as objects or as their encoding: what a batch hands to an insert. */
export type RowBlock = readonly Row[] | EncodedRows;

export function isEncodedRows(rows: RowBlock): rows is EncodedRows {
  return rows instanceof EncodedRows;
}

/** Row objects of a block (decoded back from their bytes for encoded rows). */
export function rowObjects(rows: RowBlock): Row[] {
  return isEncodedRows(rows) ? rows.objects() : [...rows];
}

/** The bytes [from, to) of a body given as chunks, as views (no copy when they lie in one chunk). */
function sliceChunks(chunks: readonly Buffer[], from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of chunks) {
    const end = at + c.length;
    if (end > from && at < to) out.push(c.subarray(Math.max(0, from - at), Math.min(c.length, to - at)));
    if (end >= to) break;
    at = end;
  }
  return out;
}

/** Shared by a block and its slices. */
interface Store {
  readonly codec: TableCodec;
  chunks: readonly Buffer[];
  /** Byte end of each row (a row kept as an object takes no bytes). */
  readonly ends: number[];
  /** Rows kept as objects, by index. */
  readonly objects: Map<number, Row>;
}

export class EncodedRows {
  readonly #s: Store;
  readonly #lo: number;
  readonly #hi: number;

  private constructor(s: Store, lo: number, hi: number) {
    this.#s = s;
    this.#lo = lo;
    this.#hi = hi;
  }

  get length(): number {
    return this.#hi - this.#lo;
  }

  slice(start = 0, end = this.length): EncodedRows {
    const n = this.length;
    const a = Math.min(n, Math.max(0, start < 0 ? n + start : start));
    const b = Math.min(n, Math.max(a, end < 0 ? n + end : end));
    return new EncodedRows(this.#s, this.#lo + a, this.#lo + b);
  }

  #start(i: number): number {
    return i === 0 ? 0 : this.#s.ends[i - 1]!;
  }

  /** The insert body of these rows; throws `TG_CLICKHOUSE_REJECTED` as `RowsWriter` does when a kept object is refused. */
  body(): Buffer[] {
    const s = this.#s;
    const from = this.#start(this.#lo);
    const to = this.#lo === this.#hi ? from : s.ends[this.#hi - 1]!;
    const kept = [...s.objects.keys()].filter((i) => i >= this.#lo && i < this.#hi).sort((a, b) => a - b);
    if (kept.length === 0) return sliceChunks(s.chunks, from, to);
    const w = new RowBinaryWriter(Math.max(16 * 1024, to - from + 1024));
    let at = from;
    for (const i of kept) {
      for (const c of sliceChunks(s.chunks, at, this.#start(i))) w.bytes(c);
      s.codec.write(w, [s.objects.get(i)!], i - this.#lo);
      at = s.ends[i]!;
    }
    for (const c of sliceChunks(s.chunks, at, to)) w.bytes(c);
    return w.finish();
  }

  /** The rows as objects, in column order (encoded ones read back from their bytes: `readRows`). */
  objects(): Row[] {
    const s = this.#s;
    const out: Row[] = [];
    for (let i = this.#lo; i < this.#hi; i++) {
      const kept = s.objects.get(i);
      if (kept !== undefined) {
        out.push(kept);
        continue;
      }
      const bytes = Buffer.concat(sliceChunks(s.chunks, this.#start(i), s.ends[i]!));
      out.push(readRows(s.codec, bytes, 1)[0]!);
    }
    return out;
  }

  /**
   * A block written row by row: `add` with the row's values in column order (the table's `ValuesWriter`), or, when
   * the writer does not take them, the row object `fallback()` makes. `done()` ends the writing.
   */
  static builder(codec: TableCodec, values: ValuesWriter, chunkSize: number): EncodedRowsBuilder {
    const w = new RowBinaryWriter(chunkSize);
    const s: Store = { codec, chunks: [], ends: [], objects: new Map() };
    return {
      writer: w,
      values,
      get length() {
        return s.ends.length;
      },
      ended: () => s.ends.push(w.size),
      keep: (row) => {
        s.objects.set(s.ends.length, row);
        s.ends.push(w.size);
      },
      done: () => {
        s.chunks = w.finish();
        return new EncodedRows(s, 0, s.ends.length);
      },
    };
  }
}

export interface EncodedRowsBuilder {
  readonly writer: RowBinaryWriter;
  readonly values: ValuesWriter;
  readonly length: number;
  /** After `values(writer, ...)` returned true: the row is complete. */
  ended(): void;
  /** After `values` returned false: the row as an object instead. */
  keep(row: Row): void;
  done(): EncodedRows;
}
