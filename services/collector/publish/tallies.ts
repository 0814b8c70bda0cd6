/**
 * The publisher's accounting: every offered record gets exactly one first outcome (acked, spooled, dropped by
 * reason), spooled records are counted again when replayed, and each outcome is also tallied per topic for the
 * metrics. Kept apart from the send logic so the rules of counting read in one place.
 */
import type { DropReason, TopicTally } from './metrics.ts';
import type { CaptureRecord } from './record.ts';

const emptyDrops = (): Record<DropReason, number> => ({ queue_full: 0, spool_full: 0, spool_error: 0, closed: 0, shutdown: 0 });

export class PublisherTallies {
  offered = 0;
  acked = 0;
  spooled = 0;
  replayed = 0;
  sendFailures = 0;
  readonly dropped = emptyDrops();
  readonly topics = new Map<string, TopicTally>();

  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + b, 0);
  }

  drop(record: CaptureRecord, reason: DropReason): 'dropped' {
    this.dropped[reason]++;
    this.#tally(record.topic).dropped++;
    return 'dropped';
  }

  dropAll(records: readonly CaptureRecord[], reason: DropReason): void {
    this.dropped[reason] += records.length;
    this.countByTopic(records, 'dropped');
  }

  /** `acked`, `spooled` or `replayed` for a batch, in total and per topic. */
  add(records: readonly CaptureRecord[], outcome: 'acked' | 'spooled' | 'replayed'): void {
    this[outcome] += records.length;
    this.countByTopic(records, outcome);
  }

  /** Runs of one topic cost one map lookup, so a single-topic batch is one lookup. */
  countByTopic(records: readonly CaptureRecord[], field: keyof TopicTally): void {
    let i = 0;
    while (i < records.length) {
      const topic = records[i]!.topic;
      let j = i + 1;
      while (j < records.length && records[j]!.topic === topic) j++;
      this.#tally(topic)[field] += j - i;
      i = j;
    }
  }

  #tally(topic: string): TopicTally {
    let t = this.topics.get(topic);
    if (t === undefined) {
      t = { acked: 0, spooled: 0, dropped: 0, replayed: 0 };
      this.topics.set(topic, t);
    }
    return t;
  }
}
