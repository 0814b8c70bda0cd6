/**
 * The one loop that talks to Kafka. In direct mode it sends batches from the memory queue (closed by records,
 * bytes or linger), waiting for each acknowledgement before the next so per-key order holds; in spooling mode it
 * replays the spool (`spool-replay.ts`). A failed direct send moves everything behind the spool, or, without one,
 * is held and re-sent after the backoff.
 */
import type { InFlight, PublisherState } from './publisher-state.ts';
import type { CaptureRecord } from './record.ts';
import { replayStep } from './spool-replay.ts';
import { enterSpooling, settleMirror } from './spooling.ts';

export async function runSendLoop(s: PublisherState): Promise<void> {
  const { maxBatchRecords, maxBatchBytes, lingerMs } = s.limits;
  while (!s.stop.signal.aborted) {
    if (s.mode === 'spooling') {
      if (!(await replayStep(s))) return;
      continue;
    }
    if (s.held !== undefined) {
      const batch = s.held;
      s.held = undefined;
      await sendDirect(s, batch);
      continue;
    }
    const len = s.q.records;
    if (len === 0) {
      if (s.state !== 'running') return;
      await s.waitWork(undefined);
      continue;
    }
    if (s.state === 'running' && len < maxBatchRecords && s.q.bytes < maxBatchBytes) {
      const wait = s.q.firstQueuedAt + lingerMs - performance.now();
      if (wait > 0) {
        await s.waitWork(wait);
        continue;
      }
    }
    await sendDirect(s, s.q.take(maxBatchRecords, maxBatchBytes, lingerMs));
  }
}

async function sendDirect(s: PublisherState, batch: CaptureRecord[]): Promise<void> {
  const infl: InFlight = { records: batch, abandoned: false };
  s.inflight = infl;
  const t0 = process.hrtime.bigint();
  let failure: unknown;
  try {
    if (!s.connected) {
      await s.producer.connect();
      s.connected = true;
    }
    await s.producer.send(batch);
  } catch (err) {
    failure = err ?? new Error('send failed');
  }
  s.inflight = undefined;
  if (infl.abandoned && infl.mirror === undefined) return;
  if (failure === undefined) {
    s.backoffMs = s.limits.probeInitialMs;
    if (!infl.abandoned) s.onAcked(batch, 'memory', t0);
    if (infl.mirror !== undefined) {
      infl.mirror.sendOk = true;
      settleMirror(s, infl.mirror);
    }
    return;
  }
  s.onSendFailure(failure, batch.length);
  if (infl.mirror !== undefined) {
    infl.mirror.sendOk = false;
    settleMirror(s, infl.mirror);
    return;
  }
  if (s.spoolUsable()) {
    s.log?.warn({ records: batch.length }, 'kafka send failed; spooling to disk until it recovers');
    enterSpooling(s, batch);
    return;
  }
  s.held = batch;
  await s.backoff();
}
