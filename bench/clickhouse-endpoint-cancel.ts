/**
 * The dev ClickHouse endpoint under the query that used to take it down: an unbounded `SELECT * FROM
 * system.numbers` streamed by `@clickhouse/client` and abandoned by its client after a few seconds of reading.
 * Per round: rows the client read, how long until the engine no longer runs the query (system.processes, polled
 * every 20 ms), /ping latencies while all this happens (every 50 ms, from another process); at the end the
 * endpoint's peak memory (VmHWM).
 * The anchor is the same endpoint idle: its memory right after start.
 *
 *   npx tsx bench/clickhouse-endpoint-cancel.ts [--rounds 5] [--read-seconds 3]
 *
 * Runs an endpoint of its own (free port, temporary data); never touches the dev ClickHouse on 8123.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { startPrivateEndpoint } from '../test/support/clickhouse.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, 'read-seconds': { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const readMs = Number(values['read-seconds']) * 1000;

function memKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

const ep = await startPrivateEndpoint();
const pid = (await ep.part.status(ep.ctx)).pid;
if (pid === undefined) throw new Error('the endpoint wrote no pid file');
const idleKb = memKb(pid, 'VmRSS');
const client = createClient({ url: ep.url, log: { level: ClickHouseLogLevel.OFF } });

async function running(): Promise<number> {
  const rs = await client.query({
    query: "SELECT count() AS n FROM system.processes WHERE query LIKE '%bench-unbounded%' AND query NOT LIKE '%system.processes%'",
    format: 'JSONEachRow',
  });
  return Number((await rs.json<{ n: string }>())[0]?.n);
}

// /ping from a process of its own: this one is busy parsing the stream, and its event loop would add its own delay
const pingScript = `
  const lat = [];
  let on = true;
  process.on('SIGTERM', () => { on = false; });
  (async () => {
    while (on) {
      const t0 = performance.now();
      const res = await fetch(process.argv[1] + '/ping');
      await res.text();
      lat.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.stdout.write(JSON.stringify(lat));
  })();
`;
const pinger = spawn(process.execPath, ['-e', pingScript, ep.url], { stdio: ['ignore', 'pipe', 'inherit'] });
let pingOut = '';
pinger.stdout.setEncoding('utf8').on('data', (d: string) => (pingOut += d));
const pingsDone = new Promise<number[]>((resolve) => pinger.once('exit', () => resolve(JSON.parse(pingOut || '[]') as number[])));

const freed: number[] = [];
const rowsRead: number[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const rs = await client.query({
      query: 'SELECT * FROM system.numbers /* bench-unbounded */',
      format: 'JSONEachRow',
      clickhouse_settings: { max_result_bytes: '0' },
    });
    const t0 = performance.now();
    let rows = 0;
    for await (const batch of rs.stream()) {
      rows += batch.length;
      if (performance.now() - t0 > readMs) break; // leaving the loop destroys the response: the client hangs up
    }
    const hungUp = performance.now();
    while ((await running()) > 0) await new Promise((r) => setTimeout(r, 20));
    freed.push(performance.now() - hungUp);
    rowsRead.push(rows);
    console.log(`round ${round}: read ${rows} rows in ${readMs} ms, engine free ${Math.round(freed.at(-1) ?? 0)} ms after the hang-up`);
  }
} finally {
  pinger.kill('SIGTERM');
  await client.close();
}
const pings = await pingsDone;
const peakKb = memKb(pid, 'VmHWM');
await ep.stop();
console.log(
  `rounds ${rounds}: rows read median ${median(rowsRead)}, engine freed median ${Math.round(median(freed))} ms (max ${Math.round(Math.max(...freed))} ms); ` +
    `/ping ${pings.length} answered, median ${median(pings).toFixed(1)} ms, max ${Math.max(...pings).toFixed(1)} ms; ` +
    `endpoint peak RSS ${Math.round(peakKb / 1024)} MiB (idle ${Math.round(idleKb / 1024)} MiB, ratio ${(peakKb / idleKb).toFixed(2)})`,
);
