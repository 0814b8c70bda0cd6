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
import { isUtf8 } from 'node:buffer';
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
  /** The rows writer compiled from the spec (`compileWriter`). */
  readonly write: RowsWriter;
}

export function tableCodec(table: string, spec: Readonly<Record<string, string>>): TableCodec {
  const columns = Object.keys(spec);
  const shape = { table, columns, types: columns.map((c) => columnType(spec[c]!)) };
  return { ...shape, write: compileWriter(shape) };
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

  /**
   * Length-prefixed bytes of a String column given as bytes (the captured SIP message): copied as they are when
   * they are valid UTF-8, else decoded with U+FFFD for what is not, exactly as the text form of the same value
   * (`toString('utf8')`) would be written, so both insert formats store the same.
   */
  utf8Bytes(b: Uint8Array): void {
    if (!isUtf8(b)) {
      this.string(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'));
      return;
    }
    const len = b.length;
    this.#room(5 + len);
    this.#varint(len);
    this.#buf.set(b, this.#o);
    this.#o += len;
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

  /** Bytes copied as they are (parts of a body already encoded: encoded-rows.ts). */
  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#o);
    this.#o += b.length;
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
  codec.write(w, rows);
}

/** `rows` as one RowBinary body (a list of chunks, in order). */
export function encodeRowBinary(codec: TableCodec, rows: readonly Readonly<Record<string, unknown>>[]): Buffer[] {
  const w = new RowBinaryWriter(rows.length < 64 ? 16 * 1024 : 1 << 20);
  writeRows(w, codec, rows);
  return w.finish();
}

/** `base`: the index of `rows[0]` in the insert, for the refusal's row number (0 when the rows are the insert). */
export type RowsWriter = (w: RowBinaryWriter, rows: readonly Readonly<Record<string, unknown>>[], base?: number) => void;

/**
 * The table's encoder as one function generated from its column spec: each column read by its constant name and
 * written by its type's code, inline. Measured against a per-value type switch over `row[name]` (bench/PROFILE.md,
 * "Binary inserts"): the switch paid ~50 ns per column in keyed property loads and dispatch. The source is made from
 * the spec only (names as JSON string literals, types from `columnType`), never from row data.
 */
export function compileWriter(codec: Omit<TableCodec, 'write'>): RowsWriter {
  let seq = 0;
  const enums: Array<ReadonlyMap<string, number>> = [];
  const refuse = (msg: string) => `throw new Refusal(${msg});`;
  const gen = (t: ColumnType, x: string): string => {
    switch (t.k) {
      case K.String:
        return `if (typeof ${x} === 'string') w.string(${x}); else if (${x} instanceof Uint8Array) w.utf8Bytes(${x});`
          + ` else ${refuse(`'expected a string or its UTF-8 bytes, got ' + show(${x})`)}`;
      case K.Bool:
        return `if (typeof ${x} !== 'boolean') ${refuse(`'expected a boolean, got ' + show(${x})`)} w.u8(${x} ? 1 : 0);`;
      case K.UInt8: case K.UInt16: case K.UInt32: case K.Int8: case K.Int16: case K.Int32: {
        const [lo, hi] = RANGE[t.k]!;
        const write = { [K.UInt8]: 'u8', [K.Int8]: 'u8', [K.UInt16]: 'u16', [K.Int16]: 'u16', [K.UInt32]: 'u32', [K.Int32]: 'i32' }[t.k];
        const mask = t.k === K.Int8 ? ' & 0xff' : t.k === K.Int16 ? ' & 0xffff' : '';
        return `if (!Number.isInteger(${x})) ${refuse(`'expected an integer, got ' + show(${x})`)}`
          + ` if (${x} < ${lo} || ${x} > ${hi}) ${refuse(`${x} + ' is out of range (${lo}..${hi})'`)} w.${write}(${x}${mask});`;
      }
      case K.UInt64: case K.Int64: {
        const signed = t.k === K.Int64;
        return `if (Number.isSafeInteger(${x})${signed ? '' : ` && ${x} >= 0`}) w.i64(${x}); else write64(w, ${x}, ${signed});`;
      }
      case K.Float32: case K.Float64:
        return `if (typeof ${x} !== 'number') ${refuse(`'expected a number, got ' + show(${x})`)} w.${t.k === K.Float32 ? 'f32' : 'f64'}(${x});`;
      case K.Enum8: case K.Enum16: {
        enums.push(t.names!);
        const e = `e${seq++}`;
        const names = [...t.names!.keys()].map((n) => `'${n}'`).join(', ');
        return `const ${e} = typeof ${x} === 'string' ? enums[${enums.length - 1}].get(${x}) : undefined;`
          + ` if (${e} === undefined) ${refuse(`show(${x}) + ${JSON.stringify(` is not one of ${names}`)}`)}`
          + ` w.${t.k === K.Enum8 ? 'u8' : 'u16'}(${e} & ${t.k === K.Enum8 ? '0xff' : '0xffff'});`;
      }
      case K.DateTime64: {
        const p = t.precision!;
        const ticks = p === 6 ? x : p < 6 ? `Math.floor(${x} / ${10 ** (6 - p)})` : `${x} * ${10 ** (p - 6)}`;
        return `if (!Number.isSafeInteger(${x})) ${refuse(`'expected µs since the epoch as an integer, got ' + show(${x})`)} w.i64(${ticks});`;
      }
      case K.Nullable:
        return `if (${x} === null) w.u8(1); else { w.u8(0); ${gen(t.inner!, x)} }`;
      case K.Array: {
        const a = `a${seq++}`;
        const k = `k${seq++}`;
        const el = `x${seq++}`;
        return `const ${a} = ${x}; if (!Array.isArray(${a})) ${refuse(`'expected an array, got ' + show(${a})`)}`
          + ` w.varint(${a}.length); for (let ${k} = 0; ${k} < ${a}.length; ${k}++) { const ${el} = ${a}[${k}]; ${gen(t.inner!, el)} }`;
      }
      default:
        throw new Error(`no writer for ${t.text}`);
    }
  };
  const body = codec.columns.map((c, j) => `col = ${j}; { const v = r[${JSON.stringify(c)}]; ${gen(codec.types[j]!, 'v')} }`).join('\n      ');
  const src = `'use strict';
  return function write(w, rows, base = 0) {
    let i = 0, col = 0;
    try {
      for (; i < rows.length; i++) {
        const r = rows[i];
      ${body}
      }
    } catch (err) {
      throw refusal(err, base + i, col);
    }
  };`;
  const refusal = (err: unknown, i: number, j: number): unknown => {
    if (!(err instanceof Refusal)) return err;
    return new TollgateError(CLICKHOUSE_REJECTED, `row ${i} for ${codec.table}, column ${codec.columns[j]} (${codec.types[j]!.text}): ${err.why}`,
      { table: codec.table, row: i, column: codec.columns[j] });
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the column spec, see above
  return new Function('Refusal', 'show', 'write64', 'enums', 'refusal', 'Uint8Array', src)(Refusal, show, write64, enums, refusal, Uint8Array) as RowsWriter;
}

/**
 * One row given as positional values, in column order: written and `true` when every value is plainly of its column's
 * type (a string or bytes for a String, an integer in range, a known enum name, a safe integer for 64 bits and
 * times, ...), else nothing is written and `false` (the caller keeps the row as an object, for `RowsWriter` to write
 * or refuse with its reasons). Every value is checked before the first byte is written, so a `false` leaves no
 * partial row behind.
 */
export type ValuesWriter = (w: RowBinaryWriter, ...values: unknown[]) => boolean;

/**
 * The table's positional writer, generated from its column spec like `compileWriter` and writing the same bytes for
 * the values that writer takes without a refusal (a test holds them together): what lets a row be encoded where its
 * values are made (services/analyzer/consumer/decode.ts) instead of as an object first.
 */
export function compileValuesWriter(codec: Omit<TableCodec, 'write'>): ValuesWriter {
  let seq = 0;
  const enums: Array<ReadonlyMap<string, number>> = [];
  const check = (t: ColumnType, x: string): string => {
    switch (t.k) {
      case K.String: return `if (typeof ${x} !== 'string' && !(${x} instanceof Uint8Array)) return false;`;
      case K.Bool: return `if (typeof ${x} !== 'boolean') return false;`;
      case K.UInt8: case K.UInt16: case K.UInt32: case K.Int8: case K.Int16: case K.Int32: {
        const [lo, hi] = RANGE[t.k]!;
        return `if (!Number.isInteger(${x}) || ${x} < ${lo} || ${x} > ${hi}) return false;`;
      }
      case K.UInt64: return `if (!Number.isSafeInteger(${x}) || ${x} < 0) return false;`;
      case K.Int64: case K.DateTime64: return `if (!Number.isSafeInteger(${x})) return false;`;
      case K.Float32: case K.Float64: return `if (typeof ${x} !== 'number') return false;`;
      case K.Enum8: case K.Enum16:
        enums.push(t.names!);
        return `if (typeof ${x} !== 'string' || !enums[${enums.length - 1}].has(${x})) return false;`;
      case K.Nullable: return `if (${x} !== null) { ${check(t.inner!, x)} }`;
      case K.Array: {
        const k = `k${seq++}`;
        const el = `x${seq++}`;
        return `if (!Array.isArray(${x})) return false; for (let ${k} = 0; ${k} < ${x}.length; ${k}++) { const ${el} = ${x}[${k}]; ${check(t.inner!, el)} }`;
      }
      default: throw new Error(`no writer for ${t.text}`);
    }
  };
  let enumAt = 0;
  const write = (t: ColumnType, x: string): string => {
    switch (t.k) {
      case K.String: return `if (typeof ${x} === 'string') w.string(${x}); else w.utf8Bytes(${x});`;
      case K.Bool: return `w.u8(${x} ? 1 : 0);`;
      case K.UInt8: case K.Int8: return `w.u8(${x}${t.k === K.Int8 ? ' & 0xff' : ''});`;
      case K.UInt16: case K.Int16: return `w.u16(${x}${t.k === K.Int16 ? ' & 0xffff' : ''});`;
      case K.UInt32: return `w.u32(${x});`;
      case K.Int32: return `w.i32(${x});`;
      case K.UInt64: case K.Int64: return `w.i64(${x});`;
      case K.Float32: return `w.f32(${x});`;
      case K.Float64: return `w.f64(${x});`;
      case K.Enum8: case K.Enum16:
        return `w.${t.k === K.Enum8 ? 'u8' : 'u16'}(enums[${enumAt++}].get(${x}) & ${t.k === K.Enum8 ? '0xff' : '0xffff'});`;
      case K.DateTime64: {
        const p = t.precision!;
        return `w.i64(${p === 6 ? x : p < 6 ? `Math.floor(${x} / ${10 ** (6 - p)})` : `${x} * ${10 ** (p - 6)}`});`;
      }
      case K.Nullable: return `if (${x} === null) w.u8(1); else { w.u8(0); ${write(t.inner!, x)} }`;
      case K.Array: {
        const k = `k${seq++}`;
        return `w.varint(${x}.length); for (let ${k} = 0; ${k} < ${x}.length; ${k}++) { const ${x}_ = ${x}[${k}]; ${write(t.inner!, `${x}_`)} }`;
      }
      default: throw new Error(`no writer for ${t.text}`);
    }
  };
  const params = codec.columns.map((_, j) => `v${j}`);
  const checks = codec.types.map((t, j) => check(t, `v${j}`)).join('\n  ');
  const writes = codec.types.map((t, j) => write(t, `v${j}`)).join('\n  ');
  const src = `'use strict';
  return function writeValues(w, ${params.join(', ')}) {
  ${checks}
  ${writes}
  return true;
  };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from the column spec, see compileWriter
  return new Function('enums', 'Uint8Array', src)(enums, Uint8Array) as ValuesWriter;
}

/**
 * Rows back from their RowBinary bytes, as objects in column order: strings as text (bytes that were not valid
 * UTF-8 were written with U+FFFD, so this is what the JSON form of the row would carry), 64-bit integers as numbers
 * when safe (else decimal strings), times as µs. For the rare paths that need a row object after it was encoded
 * (a row the server refused, going to the quarantine): what `RowsWriter` takes back to the same bytes.
 */
export function readRows(codec: Omit<TableCodec, 'write'>, body: Buffer, count: number): Record<string, unknown>[] {
  let o = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = body[o++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  const i64 = (signed: boolean): number | string => {
    const b = signed ? body.readBigInt64LE(o) : body.readBigUInt64LE(o);
    o += 8;
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : String(b);
  };
  const value = (t: ColumnType): unknown => {
    let v: unknown;
    switch (t.k) {
      case K.String: { const n = varint(); v = body.toString('utf8', o, o + n); o += n; return v; }
      case K.Bool: return body[o++] === 1;
      case K.UInt8: return body[o++];
      case K.Int8: v = body.readInt8(o); o += 1; return v;
      case K.UInt16: v = body.readUInt16LE(o); o += 2; return v;
      case K.Int16: v = body.readInt16LE(o); o += 2; return v;
      case K.UInt32: v = body.readUInt32LE(o); o += 4; return v;
      case K.Int32: v = body.readInt32LE(o); o += 4; return v;
      case K.UInt64: return i64(false);
      case K.Int64: return i64(true);
      case K.Float32: v = body.readFloatLE(o); o += 4; return v;
      case K.Float64: v = body.readDoubleLE(o); o += 8; return v;
      case K.Enum8: case K.Enum16: {
        const n = t.k === K.Enum8 ? body.readInt8(o) : body.readInt16LE(o);
        o += t.k === K.Enum8 ? 1 : 2;
        for (const [name, x] of t.names!) if (x === n) return name;
        throw new Error(`${t.text}: no name for ${n}`);
      }
      case K.DateTime64: {
        const ticks = Number(body.readBigInt64LE(o));
        o += 8;
        const p = t.precision!;
        return p === 6 ? ticks : p < 6 ? ticks * 10 ** (6 - p) : Math.floor(ticks / 10 ** (p - 6));
      }
      case K.Nullable: return body[o++] === 1 ? null : value(t.inner!);
      case K.Array: { const n = varint(); const a: unknown[] = []; for (let i = 0; i < n; i++) a.push(value(t.inner!)); return a; }
      default: throw new Error(`no reader for ${t.text}`);
    }
  };
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const r: Record<string, unknown> = {};
    for (let j = 0; j < codec.columns.length; j++) r[codec.columns[j]!] = value(codec.types[j]!);
    rows.push(r);
  }
  if (o !== body.length) throw new Error(`RowBinary of ${codec.table}: ${body.length - o} bytes left after ${count} rows`);
  return rows;
}
