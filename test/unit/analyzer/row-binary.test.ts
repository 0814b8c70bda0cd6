/**
 * The RowBinary encoder against a decoder written here from ClickHouse's format description (little-endian numbers,
 * LEB128 lengths, UTF-8 strings, a null byte before Nullable values, DateTime64 as Int64 ticks): every analyzer table,
 * rows from the column spec (fast-check). The engine itself reads the bytes in
 * test/integration/analyzer-insert-formats.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeRowBinary, RowBinaryWriter, tableCodec, writeRows, type ColumnType } from '../../../services/analyzer/store/row-binary.ts';
import { CODECS, jsonValues } from '../../../services/analyzer/store/table-writer.ts';
import { formatUs, TABLES } from '../../../services/analyzer/store/rows.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { rowArb } from '../../support/analyzer-rows.ts';

class Reader {
  o = 0;
  constructor(readonly b: Buffer) {}
  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const x = this.b[this.o++]!;
      v += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) return v;
      shift += 7;
    }
  }
  value(t: ColumnType): unknown {
    const base = t.text.replace(/^LowCardinality\((.*)\)$/, '$1');
    const b = this.b;
    const at = this.o;
    if (base.startsWith('Nullable(')) return b[this.o++] === 1 ? null : this.value(t.inner!);
    if (base.startsWith('Array(')) {
      const n = this.varint();
      return Array.from({ length: n }, () => this.value(t.inner!));
    }
    if (base === 'String') {
      const n = this.varint();
      this.o += n;
      return b.toString('utf8', this.o - n, this.o);
    }
    if (base.startsWith('Enum8')) {
      const n = b.readInt8(this.o++);
      return [...t.names!].find(([, v]) => v === n)![0];
    }
    const fixed: Record<string, [number, () => unknown]> = {
      Bool: [1, () => b[at] === 1], UInt8: [1, () => b.readUInt8(at)], Int8: [1, () => b.readInt8(at)],
      UInt16: [2, () => b.readUInt16LE(at)], Int16: [2, () => b.readInt16LE(at)],
      UInt32: [4, () => b.readUInt32LE(at)], Int32: [4, () => b.readInt32LE(at)],
      UInt64: [8, () => b.readBigUInt64LE(at)], Int64: [8, () => b.readBigInt64LE(at)],
      Float32: [4, () => b.readFloatLE(at)], Float64: [8, () => b.readDoubleLE(at)],
    };
    const key = base.startsWith('DateTime64(6') ? 'Int64' : base;
    const f = fixed[key];
    if (!f) throw new Error(`decoder: ${t.text}`);
    this.o += f[0];
    const v = f[1]();
    return key === 'Int64' && base.startsWith('DateTime64') ? Number(v) : v;
  }
}

/** What the decoder gives back for a value the row carried. */
function expected(t: ColumnType, v: unknown): unknown {
  const base = t.text.replace(/^LowCardinality\((.*)\)$/, '$1');
  if (v === null) return null;
  if (base.startsWith('Nullable(')) return expected(t.inner!, v);
  if (base.startsWith('Array(')) return (v as unknown[]).map((x) => expected(t.inner!, x));
  if (base === 'UInt64' || base === 'Int64') return BigInt(v as number | string);
  if (base === 'Float32') return Math.fround(v as number);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return v;
}

describe('RowBinary encoder', () => {
  for (const table of TABLES) {
    it(`${table}: decoding the body gives back every row, column by column`, () => {
      const { columns, types } = CODECS[table];
      fc.assert(fc.property(fc.array(rowArb(table), { minLength: 1, maxLength: 20 }), (rows) => {
        const chunks = encodeRowBinary(CODECS[table], rows);
        const body = Buffer.concat(chunks);
        const r = new Reader(body);
        for (const row of rows) {
          for (let j = 0; j < columns.length; j++) {
            assert.deepEqual(r.value(types[j]!), expected(types[j]!, row[columns[j]!]), `${table}.${columns[j]}`);
          }
        }
        assert.equal(r.o, body.length, 'nothing after the last row');
      }), { numRuns: 60 });
    });
  }

  it('chunks are one body whatever their size, and every chunk holds whole values', () => {
    const codec = CODECS.sip_messages;
    fc.assert(fc.property(fc.array(rowArb('sip_messages'), { minLength: 1, maxLength: 30 }), (rows) => {
      const big = Buffer.concat(encodeRowBinary(codec, rows));
      const w = new RowBinaryWriter(16);
      writeRows(w, codec, rows);
      const chunks = w.finish();
      const tiny = Buffer.concat(chunks);
      assert.equal(w.size, big.length);
      assert.ok(big.equals(tiny));
    }), { numRuns: 40 });
  });

  it('writes the exact bytes ClickHouse documents for each kind of value', () => {
    const codec = tableCodec('t', {
      s: 'String', lc: 'LowCardinality(String)', e: "Enum8('request' = 1, 'response' = 2)", u16: 'UInt16', u32: 'UInt32',
      u64: 'UInt64', i64: 'Int64', b: 'Bool', f32: 'Nullable(Float32)', f64: 'Float64', a: 'Array(UInt32)', t: "DateTime64(6, 'UTC')",
      t3: "DateTime64(3, 'UTC')", n: 'Nullable(UInt16)',
    });
    const body = Buffer.concat(encodeRowBinary(codec, [{
      s: 'é', lc: '', e: 'response', u16: 0x1234, u32: 0xdeadbeef, u64: '18446744073709551615', i64: -2, b: true,
      f32: 1.5, f64: -0.25, a: [1, 300], t: -1, t3: 1_234_567, n: null,
    }]));
    assert.equal(body.toString('hex'), [
      '02c3a9', '00', '02', '3412', 'efbeadde', 'ffffffffffffffff', 'feffffffffffffff', '01', '00' + '0000c03f',
      '000000000000d0bf', '02' + '01000000' + '2c010000', 'ffffffffffffffff', 'd204000000000000', '01',
    ].join(''));
  });

  it('refuses a value its column cannot take, naming table, row, column, value and type', () => {
    const bad: Array<[string, unknown, RegExp]> = [
      ['src_port', 70_000, /row 1 for sip_messages, column src_port \(UInt16\): 70000 is out of range \(0\.\.65535\)/],
      ['src_port', 1.5, /column src_port \(UInt16\): expected an integer, got 1\.5/],
      ['kind', 'notify', /column kind \(Enum8\('request' = 1, 'response' = 2\)\): "notify" is not one of 'request', 'response'/],
      ['ts', '2026-01-01 00:00:00', /column ts \(DateTime64\(6, 'UTC'\)\): expected µs since the epoch as an integer/],
      ['kafka_offset', -1, /column kafka_offset \(UInt64\): expected a non-negative 64-bit integer/],
      ['kafka_offset', '18446744073709551616', /column kafka_offset \(UInt64\): 18446744073709551616 is out of range/],
      ['call_id', undefined, /column call_id \(String\): expected a string or its UTF-8 bytes, got no value/],
      ['warnings', 'x', /column warnings \(Array\(LowCardinality\(String\)\)\): expected an array/],
    ];
    const good = fc.sample(rowArb('sip_messages'), { numRuns: 2, seed: 7 });
    for (const [col, v, re] of bad) {
      const rows = [good[0]!, { ...good[1]!, [col]: v }];
      assert.throws(() => encodeRowBinary(CODECS.sip_messages, rows), (err: unknown) => {
        assert.ok(isTollgateError(err), String(err));
        assert.equal(err.code, 'TG_CLICKHOUSE_REJECTED');
        assert.equal(err.retryable, false);
        assert.match(err.message, re);
        return true;
      });
    }
  });

  it('the JSON values carry the same columns in the same order, times as DateTime64 text, bytes as text', () => {
    fc.assert(fc.property(rowArb('calls'), (row) => {
      const [v] = jsonValues('calls', [row]);
      const { columns } = CODECS.calls;
      assert.equal(v!.length, columns.length);
      for (let j = 0; j < columns.length; j++) {
        const x = row[columns[j]!];
        const isTime = /DateTime64/.test(CODECS.calls.types[j]!.text);
        assert.deepEqual(v![j], isTime && typeof x === 'number' ? formatUs(x) : x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : x);
      }
    }), { numRuns: 100 });
  });

  it('every column type of the analyzer tables has a writer (a new type fails here and in tsc)', () => {
    for (const t of TABLES) assert.equal(CODECS[t].types.length, CODECS[t].columns.length);
    assert.throws(() => tableCodec('x', { d: 'Decimal(10, 2)' }), /Decimal\(10, 2\) is not supported/);
  });
});
