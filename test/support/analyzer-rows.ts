/**
 * fast-check rows for the analyzer's tables, made from the generated column spec (so a new column is covered without
 * touching this file): unicode and control characters, empty and long strings, IPv6 text, nulls, the ends of every
 * integer range, float32/float64 values and DateTime64(6) times from 1900 to the last µs a JS number holds exactly.
 *
 * String columns also get Buffers (valid and invalid UTF-8), as `raw` carries the captured bytes.
 *
 * Left out on purpose, because the JSON format cannot carry them and the test compares the two formats: lone UTF-16
 * surrogates (not text; no row builder makes them: SIP is decoded from bytes), -0 and non-finite floats (JSON
 * writes 0 and null), UInt64/Int64 numbers beyond 2^53 (they travel as decimal strings, which is covered).
 */
import fc from 'fast-check';
import { CODECS } from '../../services/analyzer/store/table-writer.ts';
import type { ColumnType } from '../../services/analyzer/store/row-binary.ts';
import type { TableName } from '../../services/analyzer/store/rows.ts';

/** 1900-01-01 and the largest µs a double holds exactly (2255-06-05). */
export const MIN_US = Date.UTC(1900, 0, 1) * 1000;
export const MAX_US = Number.MAX_SAFE_INTEGER;

const edgeStrings = fc.constantFrom('', ' ', '2001:db8::1', '::ffff:192.0.2.1', 'fe80::1%eth0', '::', '255.255.255.255',
  'Ünïcödé ✓', '𝄞 emoji 😀', 'tab\tnew\nline\rquote"back\\slash\'', '\0', 'a'.repeat(42), 'b'.repeat(43), 'é'.repeat(43),
  'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(16_384), 'ж'.repeat(70_000));
const strings = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom('\0', '\n', '\t', '"', '\\', "'", 'é', '𝄞', ' ', 'a', '\u007f', '\u0080', '\uffff'), maxLength: 50 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 40, maxLength: 300 }), weight: 1 },
  { arbitrary: edgeStrings, weight: 2 },
);
/** A String column (not an array element) may also carry the UTF-8 bytes of its text (`raw`), valid or not (then
 * read as with U+FFFD). */
const stringsOrBytes = fc.oneof(
  { arbitrary: strings, weight: 6 },
  { arbitrary: strings.map((s) => Buffer.from(s, 'utf8')), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)), weight: 1 },
  { arbitrary: fc.constantFrom(Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('ok\xff\r\n', 'latin1'), Buffer.alloc(0)), weight: 1 },
);

const ints: Record<string, [number, number]> = {
  UInt8: [0, 0xff], UInt16: [0, 0xffff], UInt32: [0, 0xffff_ffff], Int8: [-0x80, 0x7f], Int16: [-0x8000, 0x7fff],
  Int32: [-0x8000_0000, 0x7fff_ffff],
};

function intArb(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, Math.max(min, 0), Math.min(max, 1)));
}

function bigDecimal(min: bigint, max: bigint): fc.Arbitrary<string> {
  return fc.oneof(fc.bigInt({ min, max }), fc.constantFrom(min, max, 2n ** 53n, 2n ** 53n + 1n)).map(String);
}

const noNegZero = (x: number): number => (Object.is(x, -0) ? 0 : x);

export function valueArb(t: ColumnType, inArray = false): fc.Arbitrary<unknown> {
  const base = t.text.replace(/^LowCardinality\((.*)\)$/, '$1');
  if (base.startsWith('Nullable(')) return fc.option(valueArb(t.inner!, inArray), { nil: null, freq: 3 });
  if (base.startsWith('Array(')) return fc.array(valueArb(t.inner!, true), { maxLength: 6 });
  if (base === 'String') return inArray ? strings : stringsOrBytes;
  if (base === 'Bool') return fc.boolean();
  if (base.startsWith('Enum')) return fc.constantFrom(...t.names!.keys());
  if (base.startsWith('DateTime64(6')) return fc.oneof(fc.integer({ min: MIN_US, max: MAX_US }), fc.constantFrom(MIN_US, MAX_US, 0, -1, 1, 1_795_000_000_123_456));
  const r = ints[base];
  if (r) return intArb(r[0], r[1]);
  if (base === 'UInt64') return fc.oneof(intArb(0, Number.MAX_SAFE_INTEGER), bigDecimal(0n, 2n ** 64n - 1n));
  if (base === 'Int64') return fc.oneof(intArb(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), bigDecimal(-(2n ** 63n), 2n ** 63n - 1n));
  if (base === 'Float32') return fc.float({ noNaN: true, noDefaultInfinity: true }).map(noNegZero);
  if (base === 'Float64') return fc.double({ noNaN: true, noDefaultInfinity: true }).map(noNegZero);
  throw new Error(`no arbitrary for ${t.text}`);
}

/** A row of `table`: every column of the spec, in order. */
export function rowArb(table: TableName): fc.Arbitrary<Record<string, unknown>> {
  const { columns, types } = CODECS[table];
  return fc.record(Object.fromEntries(columns.map((c, j) => [c, valueArb(types[j]!)])));
}
