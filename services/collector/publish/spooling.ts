/**
 * Into spooling mode and out of memory: what is in memory moves behind the spool in offer order, a batch in flight
 * is mirrored to the spool (its copies removed again if its send succeeds), and at shutdown whatever is left is
 * spooled, or counted as dropped without a spool.
 */
import { isTollgateError } from '../../shared/errors.ts';
import { encodedSize } from './codec.ts';
import { SpoolErrors } from './errors.ts';
import type { Mirror, PublisherState } from './publisher-state.ts';
import type { CaptureRecord } from './record.ts';

/**
 * Everything in memory moves behind the spool, in offer order: the batch in flight (mirrored), then `first`
 * (a batch that just failed), then the queue. The spool is empty whenever we are in direct mode, so the spool's
 * order is the offer order.
 */
export function enterSpooling(s: PublisherState, first: CaptureRecord[] | undefined): void {
  s.mode = 'spooling';
  const infl = s.inflight;
  if (infl !== undefined && infl.mirror === undefined && !infl.abandoned) {
    infl.mirror = startMirror(s, infl.records);
    s.mirror = infl.mirror;
  }
  // Already-accepted records: the memory bound was checked when they came in.
  const w = s.writer!;
  if (first !== undefined) for (const r of first) w.push(r, encodedSize(r));
  s.q.drainTo((r, size) => w.push(r, size));
  w.schedule();
}

function startMirror(s: PublisherState, records: CaptureRecord[]): Mirror {
  const m: Mirror = { records, written: Promise.resolve(), abandoned: false, settled: false };
  m.written = s.spool!.append(records).then(
    () => {
      m.writeOk = true;
      settleMirror(s, m);
    },
    (err: unknown) => {
      m.writeOk = false;
      m.writeFailReason = isTollgateError(err, SpoolErrors.full) ? 'spool_full' : 'spool_error';
      s.log?.error({ err, records: records.length }, 'could not spool the batch in flight');
      settleMirror(s, m);
    },
  );
  return m;
}

/** Counts a mirrored batch once both its send and its spool write are decided. */
export function settleMirror(s: PublisherState, m: Mirror): void {
  if (m.settled || m.writeOk === undefined || (m.sendOk === undefined && !m.abandoned)) return;
  m.settled = true;
  if (m.sendOk === true && !m.abandoned) return; // counted as acked by the send path; copies removed by the loop
  if (m.writeOk) s.t.add(m.records, 'spooled');
  else s.t.dropAll(m.records, m.writeFailReason ?? 'spool_error');
}

/** Records of a mirrored batch whose outcome is still open (for `inMemory`). */
export function mirrorUndecided(s: PublisherState): number {
  const m = s.mirror;
  return m !== undefined && !m.settled && m.sendOk !== true ? m.records.length : 0;
}

/** A mirrored batch Kafka acknowledged: its spooled copies go. */
export async function ackMirror(s: PublisherState, m: Mirror): Promise<void> {
  try {
    await s.spool!.ack(m.records.length);
  } catch (err) {
    // The copies stay in the spool and are re-sent: duplicates of one batch, never a loss.
    s.log?.error({ err, records: m.records.length }, 'could not remove spooled copies of an acknowledged batch');
  }
}

/** Close past its deadline, or destroy: whatever is in memory goes to the spool (or is dropped without one). */
export function spill(s: PublisherState): void {
  s.stop.abort();
  s.wakeLoop();
  const held = s.held;
  s.held = undefined;
  if (s.spoolUsable()) {
    enterSpooling(s, held);
    if (s.inflight !== undefined) {
      s.inflight.abandoned = true;
      const m = s.inflight.mirror;
      if (m !== undefined && m.sendOk === undefined) {
        m.abandoned = true;
        settleMirror(s, m);
      }
    }
    return;
  }
  if (held !== undefined) s.t.dropAll(held, 'shutdown');
  const queued: CaptureRecord[] = [];
  s.q.drainTo((r) => queued.push(r));
  s.t.dropAll(queued, 'shutdown');
  if (s.inflight !== undefined && !s.inflight.abandoned) {
    s.inflight.abandoned = true;
    s.t.dropAll(s.inflight.records, 'shutdown');
  }
}
