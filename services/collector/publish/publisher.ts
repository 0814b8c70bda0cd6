/**
 * From an accepted capture record to a Kafka acknowledgement, with no silent loss.
 *
 * Two modes. `direct`: offers go to a bounded memory queue; one loop sends batches (bounded by records, bytes and
 * linger) and waits for each acknowledgement before the next, so per-key order holds without relying on anything
 * but the producer. `spooling`: entered when a send fails, when the memory queue overflows, or at start-up when the
 * spool holds records from a previous process. Then every record goes through the disk spool in offer order and
 * the loop replays the spool to Kafka (probing with backoff while Kafka is down), removing records only after
 * Kafka acknowledged them. The publisher returns to `direct` only once the spool and its write buffer are empty,
 * so a newer record never overtakes an older spooled one.
 *
 * When the queue overflows while a batch is in flight, that batch is also written to the (then empty) spool
 * ("mirrored") ahead of the queue. If its send then succeeds, the mirrored copies are removed unsent; if it fails,
 * they are already first in line. Either way the spool's order is the offer order.
 *
 * Accounting: every offered record gets exactly one first outcome: acked (from memory), spooled (written to the
 * spool) or dropped{reason}. Spooled records are later counted again as replayed when Kafka acknowledges them.
 *
 * This file holds the component (offer, lifecycle, stats); the pieces live beside it: options and limits
 * (`publisher-options.ts`), the shared state (`publisher-state.ts`), mode changes and mirroring (`spooling.ts`),
 * the send loop (`send-loop.ts`), spool replay (`spool-replay.ts`), the memory queue (`memory-queue.ts`), the spool
 * write buffer (`spool-writer.ts`) and the counting (`tallies.ts`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Once } from '../../shared/lifecycle.ts';
import type { Component, ComponentHealth } from '../../shared/lifecycle.ts';
import { encodedSize } from './codec.ts';
import type { MetricsSnapshot } from './metrics.ts';
import { publisherLimits, type KafkaPublisherOptions, type OfferResult, type PublisherMode, type PublisherStats } from './publisher-options.ts';
import { PublisherState } from './publisher-state.ts';
import type { CaptureRecord } from './record.ts';
import { runSendLoop } from './send-loop.ts';
import { ackMirror, enterSpooling, mirrorUndecided, spill } from './spooling.ts';

export type { KafkaPublisherOptions, OfferResult, PublisherMode, PublisherStats } from './publisher-options.ts';

export class KafkaPublisher implements Component {
  readonly name: string;
  readonly #s: PublisherState;
  readonly #once = new Once();

  constructor(opts: KafkaPublisherOptions) {
    this.name = opts.name ?? 'kafka-publisher';
    this.#s = new PublisherState(opts, publisherLimits(opts));
    this.#s.metrics?.bind(() => this.#metricsSnapshot());
  }

  /** Opens (recovers) the spool and starts the send loop. Kafka being down is not an error: the loop probes. */
  async start(): Promise<void> {
    const s = this.#s;
    if (s.state !== 'new') return;
    if (s.spool !== undefined) {
      const rec = await s.spool.open();
      if (s.spool.records > 0) {
        s.mode = 'spooling';
        s.log?.info({ records: rec.recoveredRecords, segments: rec.recoveredSegments, corruptions: rec.corruptions }, 'replaying records spooled by a previous run');
      }
    }
    s.state = 'running';
    try {
      await s.producer.connect();
      s.connected = true;
    } catch (err) {
      s.log?.warn({ err }, 'kafka unreachable at start; records will queue or spool until it answers');
    }
    s.loop = runSendLoop(s).catch((err: unknown) => {
      s.fatal = err instanceof Error ? err : new Error(String(err));
      s.log?.error({ err }, 'publisher loop failed');
    });
  }

  /** Synchronous and non-blocking: the socket loop calls it per record. */
  offer(record: CaptureRecord): OfferResult {
    const s = this.#s;
    s.t.offered++;
    if (s.state !== 'running') return s.t.drop(record, 'closed');
    const size = encodedSize(record);
    if (s.mode === 'direct') {
      const len = s.q.records;
      const { maxQueueRecords, maxQueueBytes, maxBatchRecords, maxBatchBytes } = s.limits;
      if (len < maxQueueRecords && s.q.bytes + size <= maxQueueBytes) {
        s.q.push(record, size);
        if (len === 0 || len + 1 >= maxBatchRecords || s.q.bytes >= maxBatchBytes) s.wakeLoop();
        return 'queued';
      }
      if (!s.spoolUsable()) return s.t.drop(record, 'queue_full');
      s.log?.warn({ queued: len, bytes: s.q.bytes }, 'memory queue full; spooling to disk');
      enterSpooling(s, undefined);
    }
    return this.#offerToSpool(record, size);
  }

  get mode(): PublisherMode {
    return this.#s.mode;
  }

  stats(): PublisherStats {
    const s = this.#s;
    const t = s.t;
    const infl = s.inflight;
    const inFlight = infl !== undefined && infl.mirror === undefined && !infl.abandoned ? infl.records.length : 0;
    const inMemory = s.q.records + (s.writer?.records ?? 0) + (s.held?.length ?? 0) + inFlight + mirrorUndecided(s);
    return {
      offered: t.offered, acked: t.acked, spooled: t.spooled, replayed: t.replayed, dropped: { ...t.dropped },
      droppedTotal: t.droppedTotal, sendFailures: t.sendFailures, inMemory, mode: s.mode,
    };
  }

  health(): ComponentHealth {
    const s = this.#s;
    if (s.state === 'new') return { state: 'down', detail: 'not started' };
    if (s.state === 'closed') return { state: 'down', detail: 'closed' };
    if (s.fatal !== undefined) return { state: 'down', detail: `send loop failed: ${s.fatal.message}` };
    if (s.mode === 'spooling') {
      const sp = s.spool!;
      const detail = `spooling: ${sp.records} records, ${sp.sizeBytes} bytes${s.connected ? '' : '; kafka unreachable'}`;
      return sp.failed === undefined ? { state: 'degraded', detail } : { state: 'down', detail: `${detail}; spool failed: ${sp.failed.message}` };
    }
    if (s.held !== undefined) return { state: 'down', detail: 'kafka unreachable and no spool' };
    return { state: 'ok' };
  }

  /** Stops intake, sends the memory queue within `closeTimeoutMs`, spools what is left (synced), disconnects. */
  close(): Promise<void> {
    return this.#once.run(async () => {
      const s = this.#s;
      if (s.state === 'new') {
        s.state = 'closed';
        return;
      }
      s.state = 'closing';
      s.wakeLoop();
      const finished = await Promise.race([s.loop!.then(() => true), sleep(s.limits.closeTimeoutMs, false)]);
      if (!finished) {
        s.log?.warn({ queued: s.q.records }, 'close deadline passed; spooling what is left');
        spill(s);
      }
      await this.#shutdown(finished ? 0 : 1_000);
    });
  }

  /** Spools what is in memory if it can (disk only, no waiting for Kafka); counts the rest as dropped. */
  destroy(err?: Error): Promise<void> {
    return this.#once.run(async () => {
      const s = this.#s;
      if (err !== undefined) s.log?.error({ err }, 'publisher destroyed');
      if (s.state === 'new') {
        s.state = 'closed';
        return;
      }
      s.state = 'closing';
      spill(s);
      await this.#shutdown(0);
    });
  }

  #offerToSpool(record: CaptureRecord, size: number): OfferResult {
    const s = this.#s;
    const w = s.writer!;
    // Twice the queue bound: entering spooling moves a full queue into this buffer, and offers still need room.
    if (w.records >= 2 * s.limits.maxQueueRecords || w.bytes + size > 2 * s.limits.maxQueueBytes) return s.t.drop(record, 'queue_full');
    if (!s.spoolUsable()) return s.t.drop(record, 'spool_error');
    if (size > s.spool!.freeBytes - w.bytes) return s.t.drop(record, 'spool_full');
    w.push(record, size);
    w.schedule();
    return 'spooled';
  }

  async #shutdown(loopGraceMs: number): Promise<void> {
    const s = this.#s;
    s.stop.abort();
    s.wakeLoop();
    await s.flushSpoolWrites();
    // Disconnecting fails a send still in flight, which lets the loop settle a mirrored batch before the spool closes.
    const disconnected = s.producer.disconnect().catch((err: unknown) => s.log?.warn({ err }, 'kafka producer disconnect failed'));
    if (loopGraceMs > 0) await Promise.race([s.loop, sleep(loopGraceMs, undefined)]);
    else await Promise.race([s.loop, sleep(0)]);
    // Anything the loop had not decided by now is decided here, so every record is counted once.
    spill(s);
    await s.flushSpoolWrites();
    const m = s.mirror;
    if (m !== undefined) {
      await m.written;
      s.mirror = undefined;
      if (m.sendOk === true && !m.abandoned && m.writeOk === true) await ackMirror(s, m);
    }
    s.state = 'closed';
    await s.spool?.close().catch((err: unknown) => s.log?.error({ err }, 'spool close failed'));
    if (loopGraceMs > 0) await disconnected;
    s.connected = false;
  }

  #metricsSnapshot(): MetricsSnapshot {
    const s = this.#s;
    return {
      topics: s.t.topics,
      dropped: s.t.dropped,
      sendFailures: s.t.sendFailures,
      queueRecords: s.q.records + (s.writer?.records ?? 0),
      queueBytes: s.q.bytes + (s.writer?.bytes ?? 0),
      spoolRecords: s.spool?.records ?? 0,
      spoolBytes: s.spool?.sizeBytes ?? 0,
      spoolCorruptions: s.spool?.stats.corruptions ?? 0,
    };
  }
}
