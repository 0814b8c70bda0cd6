/**
 * The edge pushers against the real proxies: Kamailio 5.6 (deploy/kamailio/kamailio.cfg, htable over JSON-RPC)
 * and OpenSIPS 3.6.8 (deploy/opensips/opensips.cfg, core cache over mi_http). A ban makes the proxy answer 403 to
 * a real SIP request from that source; removal and expiry give the source back; a restarted proxy gets the active
 * set again within 5 s; a proxy that answers garbage or hangs is counted and retried, nothing is lost.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { BlockRecord } from '../../services/guard/blocklist.ts';
import { KamailioHtable, OpensipsCache, type EdgeProxy } from '../../services/guard/edge/proxies.ts';
import { EdgeSync } from '../../services/guard/edge/sync.ts';
import { guardMetrics } from '../../services/guard/metrics.ts';
import { haveKamailio, haveOpensips, kamailioEdge, opensipsEdge, sipStatus, type Edge } from '../support/guard-edges.ts';
import { freePort } from '../support/ports.ts';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

function record(ip: string, ttlMs: number, state: 'active' | 'lifted' = 'active'): BlockRecord {
  const now = Date.now();
  return { ip, state, reason: 'test', detector: 'flood', actor: 'test', alertId: '', createdAt: now, expiresAt: now + ttlMs, offences: 1, updatedAt: now, graceUntil: 0 };
}

async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function suite(name: string, have: () => boolean, make: () => Promise<Edge>, proxyFor: (e: Edge) => EdgeProxy): void {
  describe(name, { skip: have() ? false : `${name} not installed (npm run setup builds/installs it)` }, () => {
    let edge: Edge;
    let sync: EdgeSync;
    const active = new Map<string, BlockRecord>();
    const registry = new Registry();
    const metrics = guardMetrics(registry);

    before(async () => {
      edge = await make();
      sync = new EdgeSync({ proxy: proxyFor(edge), active: (now) => [...active.values()].filter((r) => r.state === 'active' && r.expiresAt > now), probeIntervalMs: 500, retryBaseMs: 100, retryMaxMs: 1_000, metrics, log });
      await sync.start();
    });
    after(async () => {
      await sync?.close();
      await edge?.dispose();
    });

    const put = (r: BlockRecord) => {
      active.set(r.ip, r);
      sync.notify(r);
    };

    it('a ban gives 403 to that source only; removal gives it back', async () => {
      assert.equal(await sipStatus('127.0.0.61', edge.sipAddr, edge.sipPort), 200);
      put(record('127.0.0.61', 60_000));
      const ms = await until('403 after the ban', 3_000, async () => (await sipStatus('127.0.0.61', edge.sipAddr, edge.sipPort)) === 403);
      assert.equal(await sipStatus('127.0.0.62', edge.sipAddr, edge.sipPort), 200);
      put(record('127.0.0.61', 0, 'lifted'));
      await until('200 after the removal', 3_000, async () => (await sipStatus('127.0.0.61', edge.sipAddr, edge.sipPort)) === 200);
      process.stdout.write(`[guard-edge] ${name}: ban → 403 observed after ${ms} ms\n`);
    });

    it('a ban expires with its TTL at the proxy', async () => {
      put(record('127.0.0.63', 2_000));
      await until('403', 2_000, async () => (await sipStatus('127.0.0.63', edge.sipAddr, edge.sipPort)) === 403);
      const ms = await until('expiry', 6_000, async () => (await sipStatus('127.0.0.63', edge.sipAddr, edge.sipPort)) === 200);
      assert.ok(ms > 200, `expired too early (${ms} ms)`);
    });

    it('a restarted proxy gets the active set back within 5 s', async () => {
      for (let i = 70; i < 80; i++) put(record(`127.0.0.${i}`, 120_000));
      await until('bans pushed', 3_000, async () => sync.pending === 0 && (await sipStatus('127.0.0.79', edge.sipAddr, edge.sipPort)) === 403);
      const resyncsBefore = sync.resyncs;
      // Only the start-up push so far: the sentinel probe sees an unrestarted proxy as such.
      assert.equal(resyncsBefore, 1);
      await edge.stop();
      await edge.start();
      const restarted = Date.now();
      // Right after the restart the table is empty: the proxy serves the banned source again...
      const ms = await until('resync', 5_000, () => sync.resyncs > resyncsBefore);
      for (let i = 70; i < 80; i++) assert.equal(await sipStatus(`127.0.0.${i}`, edge.sipAddr, edge.sipPort), 403, `127.0.0.${i} after resync`);
      process.stdout.write(`[guard-edge] ${name}: restart → active set re-pushed after ${Date.now() - restarted} ms (resync seen at ${ms} ms)\n`);
    });
  });
}

suite('Kamailio 5.6 htable', haveKamailio, () => kamailioEdge({ sipAddr: '127.0.0.40', hepPort: 9 }), (e) => new KamailioHtable(e.rpcUrl, 'ipban', 1_000));
suite('OpenSIPS 3.6.8 cache', haveOpensips, () => opensipsEdge({ sipAddr: '127.0.0.41' }), (e) => new OpensipsCache(e.rpcUrl, 'local', 'ban_', 1_000));

describe('a proxy that answers garbage, hangs, or is down', () => {
  it('is counted and retried; the change is delivered once the proxy behaves', async () => {
    let mode: 'garbage' | 'hang' | 'ok' = 'garbage';
    const got: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (mode === 'hang') return; // never answers
        if (mode === 'garbage') {
          res.end('<html>502 Bad Gateway</html>');
          return;
        }
        const m = JSON.parse(body) as { method: string; id: number; params: unknown[] };
        got.push(`${m.method} ${JSON.stringify(m.params)}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', result: m.method === 'htable.get' ? { item: {} } : 'Ok', id: m.id }));
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const registry = new Registry();
    const metrics = guardMetrics(registry);
    const sync = new EdgeSync({ proxy: new KamailioHtable(`http://127.0.0.1:${port}/RPC`, 'ipban', 300), active: () => [], probeIntervalMs: 200, retryBaseMs: 50, retryMaxMs: 200, metrics, log });
    await sync.start();
    try {
      sync.notify(record('192.0.2.10', 60_000));
      await until('garbage counted', 3_000, () => sync.health().state === 'degraded');
      assert.match(sync.health().detail ?? '', /not JSON-RPC: "<html>502/);
      mode = 'hang';
      await new Promise((r) => setTimeout(r, 800));
      assert.match(sync.health().detail ?? '', /no answer within 300 ms/);
      assert.equal(sync.pending, 1);
      mode = 'ok';
      await until('delivered', 5_000, () => sync.pending === 0 && sync.health().state === 'ok');
      assert.ok(got.some((g) => g.startsWith('htable.setxs ["ipban","192.0.2.10","tollgate:flood",')), got.join('\n'));
      const errors = (await registry.getSingleMetric('tollgate_guard_edge_requests_total')!.get()).values.filter((v) => v.labels['outcome'] === 'error').reduce((n, v) => n + v.value, 0);
      assert.ok(errors >= 3, `errors counted: ${errors}`);
    } finally {
      await sync.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
