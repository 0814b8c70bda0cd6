/**
 * Analyzer rows → a ClickHouse `RowBinary` insert body, driven by the column spec generated from `sql/`
 * (`columns.ts`): every column of a table, in table order, in the types the table declares. The client library has
 * no binary insert (`@clickhouse/client` 1.x `insert()` takes JSON formats or raw text streams), so the body is
 * written here and sent by `SqlStore.insertBody` as `INSERT INTO t (cols) FORMAT RowBinary`.
 *
 * Why by hand: JSON costs a `JSON.stringify` per row plus DateTime64 text per time value (bench/PROFILE.md, "Binary
 * inserts"); RowBinary is the values' own bytes (little-endian numbers, varint-prefixed UTF-8 strings, DateTime64 as
 * an Int64 count of ticks), so the row's µs numbers go in as they are.
 *
 * A value the column cannot take (a port of 70000, a fraction where an integer belongs, a missing column, an enum
 * name the type does not list) is refused with `TG_CLICKHOUSE_REJECTED` naming the table, row, column, value and
 * type, before anything is sent: the same refused-rows path a server refusal takes (the analyzer isolates the row
 * and quarantines it as `store_refused`), where a binary format would otherwise store a wrapped or garbled value.
 */
import { TollgateError } from '../../shared/errors.ts';
import { CLICKHOUSE_REJECTED } from '../../shared/clickhouse/errors.ts';

const K = {
  String: 0, Bool: 1, UInt8: 2, UInt16: 3, UInt32: 4, UInt64: 5, Int8: 6, Int16: 7, Int32: 8, Int64: 9, Float32: 10,
  Float64: 11, Enum8: 12, Enum16: 13, DateTime64: 14, Nullable: 15, Array: 16,
} as const;
type K = (typeof K)[keyof typeof K];

export interface ColumnType {
  readonly k: K;
  readonly text: string;
  /** Nullable / Array element. */
  readonly inner?: ColumnType;
  /** Enum8/16: name → value. */
  readonly names?: ReadonlyMap<string, number>;
  /** DateTime64(p): ticks per µs is 10^(p-6); µs values are divided (p < 6) or multiplied (p > 6). */
  readonly precision?: number;
}

const SIMPLE: Record<string, K> = {
  String: K.String, Bool: K.Bool, UInt8: K.UInt8, UInt16: K.UInt16, UInt32: K.UInt32, UInt64: K.UInt64,
  Int8: K.Int8, Int16: K.Int16, Int32: K.Int32, Int64: K.Int64, Float32: K.Float32, Float64: K.Float64,
};

/** A ClickHouse type as `system.columns` spells it → how it is written. Throws for a type the encoder cannot write. */
export function columnType(text: string): ColumnType {
  const simple = SIMPLE[text];
  if (simple !== undefined) return { k: simple, text };
  let m = /^(Nullable|LowCardinality|Array)\((.*)\)$/.exec(text);
  if (m) {
    const inner = columnType(m[2]!);
    // LowCardinality changes the storage, not the RowBinary value.
    if (m[1] === 'LowCardinality') return { ...inner, text };
    return { k: m[1] === 'Nullable' ? K.Nullable : K.Array, text, inner };
  }
  m = /^DateTime64\((\d)(?:, *'[^']*')?\)$/.exec(text);
  if (m) return { k: K.DateTime64, text, precision: Number(m[1]) };
  m = /^Enum(8|16)\((.*)\)$/.exec(text);
  if (m) {
    const names = new Map<string, number>();
    for (const e of m[2]!.matchAll(/'((?:[^'\\]|\\.)*)' = (-?\d+)/g)) names.set(e[1]!.replace(/\\(.)/g, '$1'), Number(e[2]));
    if (names.size === 0) throw new Error(`cannot read the values of ${text}`);
    return { k: m[1] === '8' ? K.Enum8 : K.Enum16, text, names };
  }
  throw new Error(`RowBinary encoder: column type ${text} is not supported (services/analyzer/store/row-binary.ts)`);
}

export interface TableCodec {
  readonly table: string;
  readonly columns: readonly string[];
  readonly types: readonly ColumnType[];
}

export function tableCodec(table: string, spec: Readonly<Record<string, string>>): TableCodec {
  const columns = Object.keys(spec);
  return { table, columns, types: columns.map((c) => columnType(spec[c]!)) };
}

const TWO32 = 4_294_967_296;
const RANGE: Partial<Record<K, [number, number]>> = {
  [K.UInt8]: [0, 0xff], [K.UInt16]: [0, 0xffff], [K.UInt32]: [0, 0xffff_ffff],
  [K.Int8]: [-0x80, 0x7f], [K.Int16]: [-0x8000, 0x7fff], [K.Int32]: [-0x8000_0000, 0x7fff_ffff],
};

class Refusal extends Error {
  constructor(readonly why: string) {
    super(why);
  }
}

/**
 * A growing list of chunks: values are written into the current chunk and a new one is started when a value does
 * not fit, so a batch body is never copied to grow (the HTTP request streams the chunks as they are).
 */
export class RowBinaryWriter {
  readonly #chunkSize: number;
  readonly #chunks: Buffer[] = [];
  #buf: Buffer;
  #o = 0;
  #size = 0;

  constructor(chunkSize = 1 << 20) {
    this.#chunkSize = chunkSize;
    this.#buf = Buffer.allocUnsafe(chunkSize);
  }

  get size(): number {
    return this.#size + this.#o;
  }

  #room(n: number): void {
    if (this.#o + n <= this.#buf.length) return;
    if (this.#o > 0) {
      this.#chunks.push(this.#buf.subarray(0, this.#o));
      this.#size += this.#o;
    }
    this.#buf = Buffer.allocUnsafe(Math.max(this.#chunkSize, n));
    this.#o = 0;
  }

  /** The body so far; the writer must not be used after. */
  finish(): Buffer[] {
    if (this.#o > 0) this.#chunks.push(this.#buf.subarray(0, this.#o));
    this.#size += this.#o;
    this.#o = 0;
    return this.#chunks;
  }

  u8(v: number): void {
    this.#room(1);
    this.#buf[this.#o++] = v;
  }

  #varint(v: number): void {
    const b = this.#buf;
    while (v >= 0x80) {
      b[this.#o++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.#o++] = v;
  }

  varint(v: number): void {
    this.#room(5);
    this.#varint(v);
  }

  /** Length-prefixed UTF-8. Short ASCII strings (most columns: tags, users, addresses) are copied in JS: a native
   * call per value costs more than the copy. */
  string(s: string): void {
    const n = s.length;
    if (n < 43) {
      // At most 3 bytes per UTF-16 unit: < 128 bytes, a one-byte length.
      this.#room(1 + 3 * n);
      const b = this.#buf;
      const at = this.#o;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      const len = i === n ? n : b.write(s, at + 1, 'utf8');
      b[at] = len;
      this.#o = at + 1 + len;
      return;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.#room(5 + len);
    this.#varint(len);
    this.#o += this.#buf.write(s, this.#o, len, 'utf8');
  }

  u16(v: number): void {
    this.#room(2);
    const b = this.#buf;
    b[this.#o++] = v;
    b[this.#o++] = v >>> 8;
  }

  u32(v: number): void {
    this.#room(4);
    this.#buf.writeUInt32LE(v, this.#o);
    this.#o += 4;
  }

  i32(v: number): void {
    this.#room(4);
    this.#buf.writeInt32LE(v, this.#o);
    this.#o += 4;
  }

  /** A safe integer as 8 bytes little-endian (two's complement for negatives). */
  i64(v: number): void {
    this.#room(8);
    this.#buf.writeUInt32LE(v >>> 0, this.#o);
    this.#buf.writeInt32LE(Math.floor(v / TWO32), this.#o + 4);
    this.#o += 8;
  }

  big64(v: bigint, signed: boolean): void {
    this.#room(8);
    if (signed) this.#buf.writeBigInt64LE(v, this.#o);
    else this.#buf.writeBigUInt64LE(v, this.#o);
    this.#o += 8;
  }

  f32(v: number): void {
    this.#room(4);
    this.#buf.writeFloatLE(v, this.#o);
    this.#o += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.#buf.writeDoubleLE(v, this.#o);
    this.#o += 8;
  }
}

function int(v: unknown, k: K): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Refusal(`expected an integer, got ${show(v)}`);
  const r = RANGE[k]!;
  if (v < r[0] || v > r[1]) throw new Refusal(`${v} is out of range (${r[0]}..${r[1]})`);
  return v;
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** UInt64/Int64 values come as safe-integer numbers, decimal strings (beyond 2^53) or bigints. */
function write64(w: RowBinaryWriter, v: unknown, signed: boolean): void {
  if (typeof v === 'number' && Number.isSafeInteger(v) && (signed || v >= 0)) {
    w.i64(v);
    return;
  }
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
  else throw new Refusal(`expected a ${signed ? 'signed' : 'non-negative'} 64-bit integer (safe number, decimal string or bigint), got ${show(v)}`);
  if (signed ? b < I64_MIN || b > I64_MAX : b < 0n || b > U64_MAX) throw new Refusal(`${b} is out of range`);
  w.big64(b, signed);
}

function writeValue(w: RowBinaryWriter, t: ColumnType, v: unknown): void {
  switch (t.k) {
    case K.String:
      if (typeof v !== 'string') throw new Refusal(`expected a string, got ${show(v)}`);
      w.string(v);
      return;
    case K.UInt16: w.u16(int(v, K.UInt16)); return;
    case K.UInt32: w.u32(int(v, K.UInt32)); return;
    case K.DateTime64: {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Refusal(`expected µs since the epoch as an integer, got ${show(v)}`);
      const p = t.precision!;
      w.i64(p === 6 ? v : p < 6 ? Math.floor(v / 10 ** (6 - p)) : v * 10 ** (p - 6));
      return;
    }
    case K.UInt64: write64(w, v, false); return;
    case K.Int64: write64(w, v, true); return;
    case K.Nullable:
      if (v === null) {
        w.u8(1);
        return;
      }
      w.u8(0);
      writeValue(w, t.inner!, v);
      return;
    case K.Array: {
      if (!Array.isArray(v)) throw new Refusal(`expected an array, got ${show(v)}`);
      w.varint(v.length);
      for (const x of v) writeValue(w, t.inner!, x);
      return;
    }
    case K.Enum8:
    case K.Enum16: {
      const n = typeof v === 'string' ? t.names!.get(v) : undefined;
      if (n === undefined) throw new Refusal(`${show(v)} is not one of ${[...t.names!.keys()].map((x) => `'${x}'`).join(', ')}`);
      if (t.k === K.Enum8) w.u8(n & 0xff);
      else w.u16(n & 0xffff);
      return;
    }
    case K.Bool:
      if (typeof v !== 'boolean') throw new Refusal(`expected a boolean, got ${show(v)}`);
      w.u8(v ? 1 : 0);
      return;
    case K.UInt8: w.u8(int(v, K.UInt8)); return;
    case K.Int8: w.u8(int(v, K.Int8) & 0xff); return;
    case K.Int16: w.u16(int(v, K.Int16) & 0xffff); return;
    case K.Int32: w.i32(int(v, K.Int32)); return;
    case K.Float32:
    case K.Float64:
      if (typeof v !== 'number') throw new Refusal(`expected a number, got ${show(v)}`);
      if (t.k === K.Float32) w.f32(v);
      else w.f64(v);
      return;
    default:
      throw new Refusal(`type ${t.text} has no writer`);
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'no value';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 80);
  } catch {
    return String(v);
  }
}

/** Appends `rows` to `w`. Throws `TG_CLICKHOUSE_REJECTED` for the first value a column cannot take; the body is
 * then incomplete and must be dropped (the whole insert is refused). */
export function writeRows(w: RowBinaryWriter, codec: TableCodec, rows: readonly Readonly<Record<string, unknown>>[]): void {
  const { columns, types } = codec;
  const n = columns.length;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    let j = 0;
    try {
      for (; j < n; j++) writeValue(w, types[j]!, row[columns[j]!]);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      throw new TollgateError(CLICKHOUSE_REJECTED,
        `row ${i} for ${codec.table}, column ${columns[j]} (${types[j]!.text}): ${err.why}`,
        { table: codec.table, row: i, column: columns[j] });
    }
  }
}

/** `rows` as one RowBinary body (a list of chunks, in order). */
export function encodeRowBinary(codec: TableCodec, rows: readonly Readonly<Record<string, unknown>>[]): Buffer[] {
  const w = new RowBinaryWriter(rows.length < 64 ? 16 * 1024 : 1 << 20);
  writeRows(w, codec, rows);
  return w.finish();
}
