/**
 * Detector state after a restart. Windows live in memory, so a guard that starts again would forget the first half
 * of a slow attack. Before it consumes, the guard replays its input from `now - window` up to its group's committed
 * offsets (where the consumer will continue) on a throwaway consumer group, feeding the detectors in warm-up mode:
 * state is updated, findings are dropped. Those events were acted on by the previous run — its alerts are read back
 * from ClickHouse and its blocks from the blocklist topic — so nothing is raised twice; events after the committed
 * offsets are read again by the real consumer and judged normally, so nothing is lost either.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { offsetsOfNewTopic } from './blocklist-log.ts';

export interface WarmupOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** The group whose committed offsets end the replay. */
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly sinceMs: number;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly feed: (topic: string, value: Buffer | null) => void;
  /** Only these partitions (topic → partitions); all of them when absent. */
  readonly only?: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface WarmupResult {
  /** Records replayed (a v2 container holds many events; `tollgate_guard_events_total{outcome="warmup"}` counts events). */
  readonly records: number;
  readonly partitions: number;
  readonly complete: boolean;
  readonly ms: number;
}

interface Range {
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** Per partition: [offset at `sinceMs`, committed offset) — or the end of the log when the group has committed nothing. */
export async function replayRanges(admin: Admin, groupId: string, topics: readonly string[], sinceMs: number): Promise<Range[]> {
  const out: Range[] = [];
  for (const topic of topics) {
    const committed = new Map(((await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    const ends = await offsetsOfNewTopic(admin, topic);
    const starts = new Map((await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs)).map((p) => [p.partition, Number(p.offset)]));
    for (const e of ends) {
      const c = committed.get(e.partition) ?? -1;
      const to = c >= 0 ? c : Number(e.high);
      const s = starts.get(e.partition) ?? -1;
      const from = s >= 0 ? Math.max(s, Number(e.low)) : to;
      if (from < to) out.push({ topic, partition: e.partition, from, to });
    }
  }
  return out;
}

export async function replayWindow(o: WarmupOptions): Promise<WarmupResult> {
  const t0 = Date.now();
  const ranges = (await replayRanges(o.admin, o.groupId, o.topics, o.sinceMs)).filter((r) => o.only === undefined || o.only.get(r.topic)?.has(r.partition) === true);
  if (ranges.length === 0) return { records: 0, partitions: 0, complete: true, ms: Date.now() - t0 };
  const pending = new Map(ranges.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
  const total = ranges.reduce((n, r) => n + r.to - r.from, 0);
  o.log.info({ partitions: ranges.length, records: total, since: new Date(o.sinceMs).toISOString() }, 'warm-up: replaying the last window to rebuild detector state');
  const tmpGroup = `${o.groupId}-warmup-${randomUUID().slice(0, 8)}`;
  const consumer = o.kafka.consumer({ groupId: tmpGroup, maxWaitTimeInMs: 100 });
  let records = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => { finish = r; });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(ranges.map((r) => r.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const k = `${batch.topic}\u0000${batch.partition}`;
        const r = pending.get(k);
        if (r === undefined) return;
        for (const m of batch.messages) {
          const off = Number(m.offset);
          if (off < r.from) continue;
          if (off >= r.to) break;
          o.feed(batch.topic, m.value);
          records++;
          if (off + 1 >= r.to) break;
        }
        const last = Number(batch.messages[batch.messages.length - 1]?.offset ?? -1);
        if (last + 1 >= r.to) {
          pending.delete(k);
          if (pending.size === 0) finish();
        }
        await heartbeat();
      },
    });
    // Fetching starts at the beginning (a new group); the seeks skip to each range, the check above makes it exact either way.
    for (const r of ranges) consumer.seek({ topic: r.topic, partition: r.partition, offset: String(r.from) });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => { timer = setTimeout(r, o.timeoutMs); })]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await o.admin.deleteGroups([tmpGroup]).catch(() => undefined);
  }
  const res = { records, partitions: ranges.length, complete: pending.size === 0, ms: Date.now() - t0 };
  if (res.complete) o.log.info(res, 'warm-up done');
  else o.log.warn({ ...res, expected: total }, 'warm-up not finished in time; detector windows are partly rebuilt');
  return res;
}
