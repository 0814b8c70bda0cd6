/**
 * Interleaved capture runs shared by bench/collector.bench.ts and bench/heplify-side-by-side.ts. A "side" is one way
 * of capturing the same load: tollgate's collector (production entry point into Kafka) with some settings and a
 * process count, or heplify-server (HOMER's collector, no database: decode + Prometheus counters only). For every
 * rate, every round runs each side once, the order reversed every other round, with bench/hep-load.ts in its own
 * process. Per window: packets sent and counted (tollgate: records in Kafka; heplify: `heplify_packets_total`),
 * lost, the kernel's CPU accounting of the capturing processes (utime+stime from /proc over the load window and the
 * drain after it), and from that CPU µs per packet and packets per CPU second ("per core"); for tollgate also the
 * packets that went through the disk spool and the records per produce request. The summary gives the medians over
 * rounds (and over the "live" windows, those that never spooled), ratios against the first side, and the highest
 * rate with zero loss in every round.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { topicCatalogue } from '../../services/shared/kafka/topics.ts';
import { freePort } from '../../test/support/ports.ts';
import { procStat, procStats, runLoad, startCollector } from './collector-process.ts';

export interface Side {
  readonly name: string;
  readonly kind: 'tollgate' | 'heplify';
  /** tollgate: collector settings of this side; processes on one port. */
  readonly env?: Record<string, string>;
  readonly processes?: number;
  /** tollgate: the checkout to run (default this one), e.g. a base checkout for before/after in one run. */
  readonly cwd?: string;
}

/** The collector as it was before the lazy decode and the header changes, selectable by its settings. */
export const BEFORE: Side = { name: 'tollgate before (HEP_DECODE=full, PUBLISH_HEADERS=minimal)', kind: 'tollgate', env: { HEP_DECODE: 'full', PUBLISH_HEADERS: 'minimal' } };
export const AFTER: Side = { name: 'tollgate now (defaults)', kind: 'tollgate', env: {} };
export const afterProcesses = (n: number): Side => ({ name: `tollgate now, ${n} processes on one port`, kind: 'tollgate', env: {}, processes: n });
export const HEPLIFY: Side = { name: 'heplify-server (decode only, no DB)', kind: 'heplify' };

export interface Window {
  readonly side: string;
  readonly transport: string;
  readonly rate: number;
  readonly round: number;
  readonly sent: number;
  readonly counted: number;
  readonly lost: number;
  readonly seconds: number;
  readonly cpuSec: number;
  readonly cpuUsPerPacket: number;
  readonly perCore: number;
  readonly cpuPct: number;
  readonly drops: string;
  readonly peakRssMb: number;
  /** tollgate: packets that went through the disk spool (Kafka fell behind), and records per produce request from memory. */
  readonly spooled?: number;
  readonly perRequest?: number;
}

/** Where bench/support/build-heplify.sh puts the binary. */
export function heplifyBinary(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const cache = process.env['TOLLGATE_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tollgate');
  const p = join(cache, 'heplify-server');
  return existsSync(p) ? p : undefined;
}

export const HEPLIFY_HINT = 'heplify-server not found: build it with `bench/support/build-heplify.sh` (clones and builds it into the cache dir; '
  + 'needs Go and libluajit-5.1-dev), or pass --heplify <binary>.';

/**
 * Reads the count until it reaches the target or stops moving for `quietS` seconds (at most 120 s): a collector that
 * fell behind into its spool may pause while it probes Kafka, so one quiet second does not mean it is done.
 */
async function settle(read: () => Promise<number>, target: number, quietS = 1): Promise<number> {
  let n = await read();
  let quiet = 0;
  for (let i = 0; i < 120 && n < target && quiet < quietS; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    const m = await read();
    quiet = m === n ? quiet + 1 : 0;
    n = m;
  }
  return n;
}

export interface RunOptions {
  readonly admin: Admin;
  readonly kafkaBrokers: readonly string[];
  readonly transport: string;
  readonly seconds: number;
  readonly connections: number;
  readonly heplify?: string | undefined;
}

export async function runWindow(side: Side, rate: number, round: number, o: RunOptions): Promise<Window> {
  return side.kind === 'heplify' ? heplifyWindow(side, rate, round, o) : tollgateWindow(side, rate, round, o);
}

function summarize(side: Side, rate: number, round: number, o: RunOptions, sent: { sent: number; seconds: number }, counted: number, cpuSec: number, drops: string, hwmKb: number): Window {
  return {
    side: side.name, transport: o.transport, rate, round, sent: sent.sent, counted, lost: sent.sent - counted, seconds: sent.seconds, cpuSec,
    cpuUsPerPacket: counted > 0 ? (cpuSec * 1e6) / counted : NaN,
    perCore: cpuSec > 0 ? Math.round(counted / cpuSec) : NaN,
    cpuPct: Math.round((cpuSec / sent.seconds) * 100), drops, peakRssMb: Math.round(hwmKb / 1024),
  };
}

async function tollgateWindow(side: Side, rate: number, round: number, o: RunOptions): Promise<Window> {
  const c = await startCollector(o.kafkaBrokers, 'cap', side.env ?? {}, side.processes ?? 1, side.cwd);
  const count = async (): Promise<number> => {
    let n = 0;
    for (const t of topicCatalogue(c.prefix, 1, 1).filter((x) => x.name.includes('.hep.'))) {
      for (const p of await o.admin.fetchTopicOffsets(t.name)) n += Number(p.high);
    }
    return n;
  };
  try {
    const before = procStats(c.pids);
    const sent = await runLoad({ transport: o.transport, rate, seconds: o.seconds, port: c.hepPort, connections: o.connections }).done;
    // The drain after the window is part of the work (the publisher may still be sending), so CPU is read after it.
    const counted = await settle(count, sent.sent, 10);
    const after = procStats(c.pids);
    const drops: string[] = [];
    let spooled = 0;
    let requests = 0;
    let fromMemory = 0;
    for (const port of c.metricsPorts) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const m of text.matchAll(/tollgate_collector_dropped_total\{reason="([^"]+)"[^}]*\} (\d+)/g)) drops.push(`${m[1]}=${m[2]}`);
      spooled += Number(/^tollgate_collector_spooled_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
      requests += Number(/^tollgate_collector_kafka_send_seconds_count\{[^}]*source="memory"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
      for (const m of text.matchAll(/^tollgate_collector_records_total\{[^}]*outcome="acked"[^}]*\} (\d+)/gm)) fromMemory += Number(m[1]);
    }
    const w = summarize(side, rate, round, o, sent, counted, after.cpuSec - before.cpuSec, drops.join(',') || 'none', after.hwmKb);
    return { ...w, spooled, perRequest: requests > 0 ? Math.round(fromMemory / requests) : NaN };
  } finally {
    await c.stop(o.admin);
  }
}

async function heplifyWindow(side: Side, rate: number, round: number, o: RunOptions): Promise<Window> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-heplify-'));
  const udp = await freePort();
  const tcp = await freePort();
  const prom = await freePort();
  writeFileSync(join(dir, 'heplify-server.toml'), [
    `HEPAddr = "127.0.0.1:${udp}"`, `HEPTCPAddr = "127.0.0.1:${tcp}"`, 'HEPTLSAddr = ""', 'HEPWSAddr = ""',
    `PromAddr = "127.0.0.1:${prom}"`, 'DBAddr = ""', 'LogLvl = "error"', 'LogStd = true', '',
  ].join('\n'));
  const child = spawn(o.heplify!, ['-config', join(dir, 'heplify-server.toml')], { cwd: dir, stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 1_500));
    const count = async (): Promise<number> => {
      try {
        const text = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
        return [...text.matchAll(/^heplify_packets_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
      } catch {
        return 0;
      }
    };
    const before = procStat(child.pid!);
    const sent = await runLoad({ transport: o.transport, rate, seconds: o.seconds, port: o.transport === 'tcp' ? tcp : udp, connections: o.connections }).done;
    const counted = await settle(count, sent.sent);
    const after = procStat(child.pid!);
    return summarize(side, rate, round, o, sent, counted, after.cpuSec - before.cpuSec, 'n/a', after.hwmKb);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Every side at every rate, `rounds` times, interleaved; prints each window as a JSON line, then the summary. */
export async function runSides(sides: readonly Side[], rates: readonly number[], rounds: number, o: RunOptions): Promise<Window[]> {
  const all: Window[] = [];
  for (const rate of rates) {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const side of order) {
        const w = await runWindow(side, rate, r, o);
        all.push(w);
        console.log(JSON.stringify(w));
      }
    }
  }
  printSummary(sides, rates, all);
  return all;
}

export function printSummary(sides: readonly Side[], rates: readonly number[], all: readonly Window[]): void {
  const rows = [];
  for (const rate of rates) {
    const base = median(all.filter((w) => w.rate === rate && w.side === sides[0]!.name).map((w) => w.cpuUsPerPacket));
    for (const side of sides) {
      const ws = all.filter((w) => w.rate === rate && w.side === side.name);
      const us = median(ws.map((w) => w.cpuUsPerPacket));
      rows.push({
        side: side.name, rate, rounds: ws.length,
        'CPU µs/packet': Number(us.toFixed(2)),
        // Windows in which the publisher spooled (Kafka fell behind on a busy box) pay the disk path: ~2.5x per packet.
        'µs, live windows': Number(median(ws.filter((w) => (w.spooled ?? 0) === 0).map((w) => w.cpuUsPerPacket)).toFixed(2)),
        'live/all': `${ws.filter((w) => (w.spooled ?? 0) === 0).length}/${ws.length}`,
        'records/request': Math.round(median(ws.map((w) => w.perRequest ?? NaN))),
        'first side µs ÷ this': Number((base / us).toFixed(2)),
        'per core /s': Math.round(median(ws.map((w) => w.perCore))),
        'total /s': Math.round(median(ws.map((w) => w.counted / w.seconds))),
        'CPU %': Math.round(median(ws.map((w) => w.cpuPct))),
        'lost (max)': Math.max(...ws.map((w) => w.lost)),
      });
    }
  }
  console.table(rows);
  for (const side of sides) {
    const clean = rates.filter((rate) => {
      const ws = all.filter((w) => w.rate === rate && w.side === side.name);
      return ws.length > 0 && ws.every((w) => w.lost === 0);
    });
    console.log(`highest zero-loss rate (every round): ${side.name}: ${clean.length > 0 ? Math.max(...clean).toLocaleString('en-US') : 'none of'} packets/s${clean.length > 0 ? '' : ` ${rates.join(', ')}`}`);
  }
}
