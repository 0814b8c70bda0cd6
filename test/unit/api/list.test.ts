import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import fc from 'fast-check';
import type { SqlStore } from '../../../services/shared/clickhouse/client.ts';
import { respondList } from '../../../services/api/list.ts';

interface Row { t: number; id: string }

/** A store over sorted rows that honours the statement's keyset and limit, streaming in chunks of 7 (or not at all). */
function store(rows: Row[], streaming: boolean, calls: { n: number }): SqlStore {
  const select = (params: Record<string, unknown>) => {
    const after = params['after'] as [number, string] | undefined;
    const w = params['window'] as { fromUs: number; toUs: number } | undefined;
    const inWindow = w === undefined ? rows : rows.filter((r) => r.t >= w.fromUs && r.t < w.toUs);
    const from = after === undefined ? inWindow : inWindow.filter((r) => r.t < after[0] || (r.t === after[0] && r.id < after[1]));
    return params['limit'] === undefined ? from : from.slice(0, params['limit'] as number);
  };
  const s: SqlStore = {
    command: async () => {},
    query: async <T>(_sql: string, params?: Record<string, unknown>) => { calls.n++; return select(params ?? {}) as T[]; },
    insert: async () => {},
    ping: async () => true,
    close: async () => {},
  };
  if (streaming) {
    s.stream = async function* <T>(_sql: string, params?: Record<string, unknown>) {
      calls.n++;
      const all = select(params ?? {});
      for (let i = 0; i < all.length; i += 7) yield all.slice(i, i + 7) as T[];
    };
  }
  return s;
}

describe('list responder', () => {
  it('property: CSV export over any page size yields every row once, in order, streamed or paged', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), async (n, page, streaming) => {
      // Newest first with ties on t broken by id, as the routes sort.
      const rows = Array.from({ length: n }, (_, i) => ({ t: 1000 - Math.floor(i / 3), id: `id${String(999 - i).padStart(3, '0')}` }));
      const calls = { n: 0 };
      const app = Fastify();
      app.get('/x', async (req, reply) => respondList(req, reply, {
        query: { format: 'csv' }, filters: {}, range: { fromUs: 0, toUs: 1 }, publicUrl: undefined, arity: 2,
        store: store(rows, streaming, calls),
        statement: (after, limit) => ({ sql: 'SELECT', params: { after, limit } }),
        keyOf: (r: Row) => [r.t, r.id], toItem: (r: Row) => r, csvName: 'x.csv', exportPage: page,
        csvColumns: [{ name: 't', get: (r: Row) => r.t }, { name: 'id', get: (r: Row) => r.id }],
      }));
      const res = await app.inject({ url: '/x' });
      await app.close();
      const lines = res.body.trimEnd().split('\r\n');
      assert.equal(lines[0], 't,id');
      assert.deepEqual(lines.slice(1), rows.map((r) => `${r.t},${r.id}`));
      assert.equal(calls.n, Math.floor(n / page) + 1);
    }), { numRuns: 60 });
  });

  it('property: JSON pages probed in growing time windows are exactly the pages of the whole range', async () => {
    const H = 3_600_000_000;
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 10 * 24 * H }), { maxLength: 80 }), fc.integer({ min: 1, max: 15 }), async (times, limit) => {
      const rows = times.map((t, i) => ({ t, id: `r${String(i).padStart(3, '0')}` })).sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1));
      const calls = { n: 0 };
      const app = Fastify();
      app.get('/x', async (req, reply) => respondList(req, reply, {
        query: req.query as { limit?: number; cursor?: string }, filters: {}, range: { fromUs: 0, toUs: 10 * 24 * H + 1 }, publicUrl: undefined, arity: 2,
        store: store(rows, false, calls),
        statement: (after, lim, window) => ({ sql: 'SELECT', params: { after, limit: lim, window } }),
        keyOf: (r: Row) => [r.t, r.id], keyTimeUs: (k) => Number(k[0]), toItem: (r: Row) => r, csvName: 'x.csv',
        csvColumns: [],
      }));
      const seen: Row[] = [];
      let url: string | null = `/x?limit=${limit}`;
      while (url !== null) {
        const b = (await app.inject({ url })).json() as { items: Row[]; next: string | null };
        assert.ok(b.items.length <= limit);
        seen.push(...b.items);
        url = b.next === null ? null : `/x${new URL(b.next).search}`;
      }
      await app.close();
      assert.deepEqual(seen, rows);
    }), { numRuns: 60 });
  });
});
