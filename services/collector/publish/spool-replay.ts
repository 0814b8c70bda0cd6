/**
 * Spooling mode's half of the send loop: settle a mirrored batch, probe Kafka with backoff while it is down, send
 * the spool's oldest batch and remove it only once Kafka acknowledged it, and return to direct mode once the spool
 * and its write buffer are empty (so a newer record never overtakes an older spooled one).
 */
import type { PublisherState } from './publisher-state.ts';
import { ackMirror } from './spooling.ts';

/** One replay round; false when the loop should end. */
export async function replayStep(s: PublisherState): Promise<boolean> {
  const spool = s.spool!;
  const m = s.mirror;
  if (m !== undefined) {
    await m.written;
    if (!m.settled) return !s.stop.signal.aborted; // send outcome pending only when abandoned mid-shutdown
    s.mirror = undefined;
    if (m.sendOk === true && !m.abandoned && m.writeOk === true) await ackMirror(s, m);
  }
  if (s.stop.signal.aborted) return false;
  if (spool.records === 0 && s.writer!.records === 0 && !s.writer!.writing) {
    s.mode = 'direct';
    s.log?.info('spool drained; back to direct sends');
    return true;
  }
  if (s.state !== 'running') {
    await s.flushSpoolWrites();
    return false;
  }
  if (!s.connected) {
    try {
      await s.producer.connect();
      s.connected = true;
    } catch {
      // The probe failing is the expected state during an outage; the backoff paces the next one.
      await s.backoff();
      return true;
    }
  }
  if (spool.records === 0) {
    await s.flushSpoolWrites();
    return true;
  }
  const batch = await spool.readBatch(s.limits.maxBatchRecords, s.limits.maxBatchBytes);
  if (batch.length === 0) {
    // Only corruption cut the rest away; the counts were adjusted by the spool.
    await s.waitWork(s.limits.lingerMs);
    return true;
  }
  const t0 = process.hrtime.bigint();
  try {
    await s.producer.send(batch);
  } catch (err) {
    s.onSendFailure(err, batch.length);
    await s.backoff();
    return true;
  }
  s.backoffMs = s.limits.probeInitialMs;
  await spool.ack(batch.length);
  s.t.add(batch, 'replayed');
  s.observe('spool', batch, t0);
  return true;
}
