/**
 * Park → decision sent to the switch, at a fixed rate of new prepaid calls, for tollgate's rating service and for
 * CGRateS' own FreeSWITCH agent in the same run, against the same real CGRateS build and the same event-socket
 * emulator; then CDRs/s through the CDR writer into ClickHouse.
 *
 * Method:
 *   - Load: RATE new calls/s for SECONDS (default 200/s for 5 s), prepaid, accounts 1003-1008 of the test tariff,
 *     each parked; the switch side (emulator) timestamps the park and the arrival of the command that releases or
 *     kills the channel (`uuid_transfer` / `uuid_kill`): that is "decision received by the switch", the same
 *     measure for both agents. Calls are then hung up unanswered (so the credit is never reserved and every call
 *     gets the same authorization).
 *   - tollgate also reports its own split: event parsed → commands written (total), minus the time spent waiting
 *     for CGRateS' AuthorizeEvent (CGRateS' share): our own overhead.
 *   - CDRs/s: BATCH_CDRS CDR revisions through CdrWriter (journal + ClickHouse insert) into a fresh database.
 * Run: KAFKA_BROKERS=127.0.0.1:9092 CLICKHOUSE_URL=http://127.0.0.1:8123 npx tsx bench/rating.bench.ts [rate] [seconds]
 */
import pino from 'pino';
import { CdrWriter } from '../services/rating/store/cdr-writer.ts';
import { cdrRow } from '../services/rating/store/cdr-rows.ts';
import type { CdrRecord } from '../services/rating/core/cdr.ts';
import { startCgrates, waitFor, type CgratesEngine } from '../test/support/cgrates.ts';
import { readTranscript } from '../test/support/esl-transcript.ts';
import { classifyFrame } from '../services/rating/esl/events.ts';
import { EslFrameParser } from '../services/rating/esl/frames.ts';
import { startEslEmulator, type EslEmulator } from '../test/support/esl-emulator.ts';
import { ratingDatabase } from '../test/support/rating-harness.ts';
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import path from 'node:path';

const RATE = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 5);
const BATCH_CDRS = 20_000;
const ACCOUNTS = ['1003', '1004', '1005', '1006', '1007', '1008'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const f = (x: number) => x.toFixed(2);

/** Drives RATE calls/s into `fs` and returns park → decision-at-switch latencies (ms) for those decided. */
async function drive(fs: EslEmulator, label: string): Promise<{ latencies: number[]; calls: number; undecided: number }> {
  const parkedAt = new Map<string, number>();
  const latencies: number[] = [];
  fs.onCommand((line) => {
    const m = /^api (uuid_transfer|uuid_kill) ([0-9a-f-]{36})/.exec(line);
    if (!m) return;
    const t0 = parkedAt.get(m[2]!);
    if (t0 === undefined) return;
    parkedAt.delete(m[2]!);
    latencies.push(performance.now() - t0);
    // Release the channel: hang up unanswered shortly after the decision.
    setTimeout(() => fs.hangup(m[2]!, 'ORIGINATOR_CANCEL'), 20);
  });
  const total = RATE * SECONDS;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    const uuid = fs.originate({ account: ACCOUNTS[i % ACCOUNTS.length]!, destination: '15550100', reqtype: '*prepaid', answerAfterMs: 3_600_000 });
    parkedAt.set(uuid, t);
  }
  await waitFor(() => parkedAt.size === 0, 15_000, `${label}: every park decided`).catch(() => undefined);
  return { latencies, calls: total, undecided: parkedAt.size };
}

async function benchTollgate(): Promise<void> {
  const cgr = await startCgrates({ logLevel: 3 });
  const fs = await startEslEmulator({ switchname: 'fs-bench' });
  const db = await ratingDatabase();
  const spool = await mkdtemp(path.join(tmpdir(), 'tollgate-rating-bench-'));
  const log = pino({ level: 'silent' });
  const own: number[] = [];
  const cgrShare: number[] = [];
  const totals: number[] = [];
  let state = { cdrs: 0, written: 0, connected: false };
  const url = process.env['BENCH_CGRATES_TRANSPORT'] === 'http' ? cgr.url : cgr.tcpUrl;
  const child = fork(fileURLToPath(new URL('./support/rating-process.ts', import.meta.url)), [String(fs.port), url, db.database, spool],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m: { parks: [number, number][]; cdrs: number; written: number; connected: boolean }) => {
    for (const [t, c] of m.parks) {
      totals.push(t);
      cgrShare.push(c);
      own.push(t - c);
    }
    state = m;
  });
  await waitFor(() => state.connected, 20_000, 'tollgate connected');
  const t0 = performance.now();
  const r = await drive(fs, 'tollgate');
  await waitFor(() => state.written >= r.calls, 30_000, 'all CDRs written').catch(() => undefined);
  const elapsed = (performance.now() - t0) / 1000;
  const decisions = totals.length;
  process.stdout.write(`\ntollgate rating service (own process, CGRateS over ${url.split(':')[0]}), ${RATE} new prepaid calls/s for ${SECONDS} s (${r.calls} calls, ${r.undecided} undecided):\n`);
  process.stdout.write(`  park → decision at the switch: p50 ${f(pct(r.latencies, 50))} ms, p99 ${f(pct(r.latencies, 99))} ms, max ${f(Math.max(...r.latencies))} ms\n`);
  process.stdout.write(`  inside the service (${decisions} parks): total p50 ${f(pct(totals, 50))} / p99 ${f(pct(totals, 99))} ms; `
    + `CGRateS AuthorizeEvent p50 ${f(pct(cgrShare, 50))} / p99 ${f(pct(cgrShare, 99))} ms; own overhead p50 ${f(pct(own, 50))} / p99 ${f(pct(own, 99))} ms\n`);
  process.stdout.write(`  CDRs written to ClickHouse during the run: ${state.written} (${(state.written / elapsed).toFixed(0)}/s over ${elapsed.toFixed(1)} s, paced by the call rate)\n`);
  child.send({ stop: true });
  await new Promise((res) => child.once('exit', res));

  // CDR writer throughput on its own.
  const base = Date.now() * 1000;
  const rec = (i: number): CdrRecord => ({
    facts: { uniqueId: `bench-${i}`, node: 'fs1', originHost: 'fs1', tenant: 'cgrates.org', account: '1003', subject: '1003', destination: '4420', category: 'call',
      reqtype: '*postpaid', sipCallId: `c${i}@h`, caller: '1003', callee: '4420', direction: 'inbound', dialplan: 'XML', context: 'default', createdUs: base },
    timing: { createdUs: base, answeredUs: base + 1e6, endedUs: base + 61e6, progressMediaMs: 300, hangupCause: 'NORMAL_CLEARING', q850: 16, sipDisposition: 'recv_bye', sipTermStatus: '200', source: 'event' },
    decision: 'not_prepaid', maxUsageMs: 0, sessionInitiated: false, sessionTerminated: false, ratingStatus: 'rated', ratingError: '', ratingAttempts: 1, cost: 0.6, costSource: '*cdrs', cgrId: `g${i}`, ratingDetails: '',
  });
  const w2 = new CdrWriter({ store: db.store, topic: 'unused', spoolDir: spool, log, maxBatch: 5_000 });
  await w2.start();
  const tw = performance.now();
  for (let i = 0; i < BATCH_CDRS; i++) w2.write(cdrRow(rec(i)));
  await w2.drain(120_000);
  const ws = (performance.now() - tw) / 1000;
  process.stdout.write(`  CDR writer alone: ${BATCH_CDRS} CDRs journaled and inserted in ${ws.toFixed(2)} s = ${(BATCH_CDRS / ws).toFixed(0)} CDRs/s\n`);
  await w2.close();
  await rm(spool, { recursive: true, force: true });
  await db.drop();
  await fs.close();
  await cgr.stop();
}

async function benchAgent(): Promise<void> {
  let fs: EslEmulator | undefined;
  let cgr: CgratesEngine | undefined;
  try {
    fs = await startEslEmulator({ switchname: 'fs-agent' });
    cgr = await startCgrates({ logLevel: 3, freeswitchAgent: { conns: [{ address: fs.address, alias: 'fs-agent' }] } });
    await waitFor(() => fs!.authenticatedClients >= 1, 10_000, 'agent connected');
    const r = await drive(fs, 'agent');
    process.stdout.write(`\nCGRateS freeswitch_agent (v0.10.4), same load (${r.calls} calls, ${r.undecided} undecided):\n`);
    process.stdout.write(`  park → decision at the switch: p50 ${f(pct(r.latencies, 50))} ms, p99 ${f(pct(r.latencies, 99))} ms, max ${f(Math.max(...r.latencies))} ms\n`);
  } finally {
    await cgr?.stop();
    await fs?.close();
  }
}

/** The parser must outrun FreeSWITCH by far (it drops a client ~500 events behind): events/s on the sample's text. */
function benchParser(): void {
  const { server } = readTranscript();
  const events = new EslFrameParser().push(server).map(classifyFrame).filter((m) => m.kind === 'event').length;
  const copies = 2_000;
  const stream = Buffer.concat(Array.from({ length: copies }, () => server));
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const p = new EslFrameParser();
    const t = performance.now();
    let n = 0;
    for (let off = 0; off < stream.length; off += 65_536) {
      for (const fr of p.push(stream.subarray(off, off + 65_536))) if (classifyFrame(fr).kind === 'event') n++;
    }
    runs.push((performance.now() - t) / 1000);
    if (n !== events * copies) throw new Error(`parsed ${n} events, expected ${events * copies}`);
  }
  const s = [...runs].sort((a, b) => a - b)[2]!;
  process.stdout.write(`ESL parser (frames + event-plain decoding, 64 KiB reads): ${((events * copies) / s).toFixed(0)} events/s, ${((stream.length / s) / 1e6).toFixed(1)} MB/s (median of 5 runs over ${events * copies} events)\n`);
}

process.stdout.write(`rating bench: ${RATE} calls/s × ${SECONDS} s per side (shared, busy 2-core box: figures are indicative)\n`);
benchParser();
await benchTollgate();
await benchAgent();
process.exit(0);
