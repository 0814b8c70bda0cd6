/**
 * The two insert formats of the analyzer store the same values: the same rows (fast-check, from the generated column
 * spec: unicode, control characters, empty and long strings, IPv6 text, nulls, the ends of every integer range,
 * UInt64 beyond 2^53, DateTime64(6) from 1900 to 2255) go through the production insert path once as JSON and once
 * as RowBinary, into two copies of each analyzer table, and everything the engine then returns is compared exactly.
 * The RowBinary copy is also checked against the input itself (strings byte for byte, times to the µs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CODECS, insertBody, type InsertFormat } from '../../services/analyzer/store/table-writer.ts';
import { TABLES, type TableName } from '../../services/analyzer/store/rows.ts';
import { isTollgateError } from '../../services/shared/errors.ts';
import { rowArb } from '../support/analyzer-rows.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

const FORMATS: readonly InsertFormat[] = ['json', 'rowbinary'];

describe('analyzer insert formats: JSON and RowBinary store the same values', { timeout: 300_000 }, () => {
  const env = new AnalyzerEnv();
  before(() => env.setup());
  after(() => env.cleanup());

  const copy = (t: TableName, f: InsertFormat, run: number) => `eq_${t}_${f}_${run}`;

  async function insertBoth(t: TableName, rows: Record<string, unknown>[], run: number): Promise<void> {
    for (const f of FORMATS) {
      // Same columns and constraints, without the table's TTL (rows from 1900 would be dropped by a merge).
      await env.store.command(`CREATE TABLE ${copy(t, f, run)} AS ${t} ENGINE = MergeTree ORDER BY tuple()`);
      await env.store.insertBody!(copy(t, f, run), CODECS[t].columns, insertBody(f, t, rows), { dedupToken: `eq:${t}:${run}:${f}` });
    }
  }

  async function contents(table: string): Promise<string[]> {
    const rows = await env.store.query<Record<string, unknown>>(`SELECT * FROM ${table} SETTINGS output_format_json_quote_64bit_integers = 1`);
    return rows.map((r) => JSON.stringify(r)).sort();
  }

  for (const t of TABLES) {
    it(`${t}: every value read back from both is identical`, async () => {
      let run = 0;
      await fc.assert(fc.asyncProperty(fc.array(rowArb(t), { minLength: 1, maxLength: 40 }), async (rows) => {
        run += 1;
        await insertBoth(t, rows, run);
        const [json, rb] = await Promise.all(FORMATS.map((f) => contents(copy(t, f, run))));
        assert.equal(rb!.length, rows.length);
        assert.deepEqual(rb, json);
        const { columns, types } = CODECS[t];
        const strings = columns.filter((_, j) => /^(LowCardinality\()?String\)?$/.test(types[j]!.text));
        const times = columns.filter((_, j) => /^DateTime64/.test(types[j]!.text));
        const sel = [...strings.map((c) => `hex(${c}) AS ${c}`), ...times.map((c) => `toString(toUnixTimestamp64Micro(${c})) AS ${c}`)];
        const back = await env.store.query<Record<string, string>>(`SELECT ${sel.join(', ')} FROM ${copy(t, 'rowbinary', run)}`);
        const key = (r: Record<string, unknown>, hex: boolean) => JSON.stringify([
          ...strings.map((c) => (hex ? Buffer.from(String(r[c]), 'utf8').toString('hex').toUpperCase() : r[c])),
          ...times.map((c) => String(r[c])),
        ]);
        assert.deepEqual(back.map((r) => key(r, false)).sort(), rows.map((r) => key(r, true)).sort());
        for (const f of FORMATS) await env.store.command(`DROP TABLE ${copy(t, f, run)}`);
      }), { numRuns: 12, seed: 20261130 + TABLES.indexOf(t) });
    });
  }

  it('a row the table refuses (CHECK) fails the RowBinary insert with 469 and writes nothing, as with JSON', async () => {
    const rows = fc.sample(rowArb('sip_messages'), { numRuns: 5, seed: 11 }).map((r, i) => ({ ...r, call_id: i === 3 ? 'poison-1' : `ok-${i}` }));
    for (const f of FORMATS) {
      const table = `refuse_${f}`;
      await env.store.command(`CREATE TABLE ${table} AS sip_messages ENGINE = MergeTree ORDER BY tuple()`);
      await env.store.command(`ALTER TABLE ${table} ADD CONSTRAINT no_poison CHECK call_id NOT LIKE 'poison-%'`);
      await assert.rejects(env.store.insertBody!(table, CODECS.sip_messages.columns, insertBody(f, 'sip_messages', rows), { dedupToken: `refuse:${f}` }),
        (err: unknown) => isTollgateError(err) && err.code === 'TG_CLICKHOUSE_REJECTED' && err.details['serverCode'] === '469');
      assert.equal(await env.count(table), 0);
      await env.store.insertBody!(table, CODECS.sip_messages.columns, insertBody(f, 'sip_messages', rows.filter((_, i) => i !== 3)), { dedupToken: `refuse:${f}:2` });
      assert.equal(await env.count(table), 4);
    }
  });

  it('a replayed RowBinary block with the same token is dropped, a new token is not', async () => {
    // Times of today: the production table's TTL would drop rows from 1900.
    const now = Date.now() * 1000;
    const rows = fc.sample(rowArb('registrations'), { numRuns: 7, seed: 5 }).map((r, i) => ({ ...r, ts: now + i, received_at: now + i }));
    const body = () => insertBody('rowbinary', 'registrations', rows);
    const before = await env.count('registrations');
    await env.store.insertBody!('registrations', CODECS.registrations.columns, body(), { dedupToken: 'replay:1' });
    await env.store.insertBody!('registrations', CODECS.registrations.columns, body(), { dedupToken: 'replay:1' });
    assert.equal(await env.count('registrations'), before + 7);
    await env.store.insertBody!('registrations', CODECS.registrations.columns, body(), { dedupToken: 'replay:2' });
    assert.equal(await env.count('registrations'), before + 14);
  });
});
