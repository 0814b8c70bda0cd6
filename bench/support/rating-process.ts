/**
 * The rating service in a process of its own for bench/rating.bench.ts (so the emulator and the load driver do not
 * share its event loop, as CGRateS' agent does not). Reports each park's split to the parent over IPC.
 * argv: <esl port> <cgrates url> <clickhouse database> <spool dir>
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { createClickhouseStore } from '../../services/shared/clickhouse/client.ts';
import { CgratesClient } from '../../services/rating/cgrates/client.ts';
import { RatingService } from '../../services/rating/service.ts';
import { CdrWriter } from '../../services/rating/store/cdr-writer.ts';

const [port, url, database, spoolDir] = process.argv.slice(2) as [string, string, string, string];
const log = pino({ level: 'silent' });
const store = createClickhouseStore({ url: process.env['CLICKHOUSE_URL'] ?? 'http://127.0.0.1:8123', user: 'default', database });
const engine = new CgratesClient({ url, timeoutMs: 2_000, breakerFailures: 50, breakerCooldownMs: 1_000 });
const writer = new CdrWriter({ store, topic: 'unused', spoolDir, log });
let batch: number[][] = [];
const service = new RatingService({
  nodes: [{ name: 'fs-bench', host: '127.0.0.1', port: Number(port) }], password: 'ClueCon', engine, cdrs: writer,
  defaults: { tenant: 'cgrates.org', reqtype: '*rated', tenantReqtypes: new Map() },
  policy: { prepaidFailOpen: false, failOpenMaxMs: 60_000, refuseCause: 'OUTGOING_CALL_BARRED' },
  debitIntervalMs: 0, retryIntervalMs: 5_000, maxAttempts: 5, jsonCdrWaitMs: 10_000,
  esl: { commandTimeoutMs: 5_000, idleTimeoutMs: 60_000, backoffMaxMs: 1_000 }, registry: new Registry(), log,
  onParkDecided: (i) => {
    batch.push([i.totalMs, i.cgratesMs]);
  },
});
setInterval(() => {
  process.send?.({ parks: batch, cdrs: service.counts.cdrs, written: writer.written, connected: service.clients.get('fs-bench')!.connected });
  batch = [];
}, 100);
await writer.start();
await service.start();
process.on('message', (m: { stop?: boolean }) => {
  if (!m.stop) return;
  void (async () => {
    await service.close();
    await writer.close();
    engine.close();
    await store.close();
    process.exit(0);
  })();
});
