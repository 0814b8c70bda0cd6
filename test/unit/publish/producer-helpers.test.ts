import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { boundedSend } from '../../../services/shared/kafka/bounded-send.ts';
import { oneAtATime } from '../../../services/shared/kafka/one-at-a-time.ts';
import type { RecordProducer } from '../../../services/shared/kafka/producer.ts';

describe('boundedSend (both producer adapters)', () => {
  it('a send within the bound resolves without cutting the producer off', async () => {
    let cut = 0;
    await boundedSend(sleep(5), 200, async () => { cut++; });
    assert.equal(cut, 0);
  });

  it('a send that fails within the bound rejects with its own error, without a cut-off', async () => {
    let cut = 0;
    await assert.rejects(boundedSend(Promise.reject(new Error('broker said no')), 200, async () => { cut++; }), /broker said no/);
    assert.equal(cut, 0);
  });

  it('a slow send that still succeeds after the cut-off counts as sent, once the cut-off finished', async () => {
    const order: string[] = [];
    const sending = sleep(60).then(() => { order.push('acked'); });
    await boundedSend(sending, 30, async () => { order.push('cut'); await sleep(50); order.push('closed'); });
    assert.deepEqual(order, ['cut', 'acked', 'closed']);
  });

  it('regression: a failure is reported only after the send settled, never while it may still land', async () => {
    let settled = false;
    const sending = sleep(60).then(() => { settled = true; throw new Error('connection closed'); });
    await assert.rejects(boundedSend(sending, 30, async () => {}), /connection closed/);
    assert.equal(settled, true);
  });

  it('a send that never settles is given up one more bound after the cut-off', async () => {
    let cut = 0;
    const started = Date.now();
    // The give-up timer does not hold the process open (a producer's sockets do); this test has no sockets.
    const alive = setInterval(() => {}, 1_000);
    try {
      await assert.rejects(boundedSend(new Promise(() => {}), 30, async () => { cut++; }), /did not settle/);
    } finally {
      clearInterval(alive);
    }
    assert.equal(cut, 1);
    assert.ok(Date.now() - started >= 55);
  });
});

describe('oneAtATime (the analyzer\'s partitions share one event producer)', () => {
  it('regression: concurrent sends reach the adapter one at a time, in call order, each with its own outcome', async () => {
    let inFlight = 0;
    const seen: string[] = [];
    const adapter: RecordProducer = {
      connect: async () => {},
      disconnect: async () => {},
      async send(batch) {
        inFlight++;
        assert.equal(inFlight, 1, 'two sends in flight on one idempotent producer');
        await sleep(5);
        inFlight--;
        const topic = batch[0]!.topic;
        seen.push(topic);
        if (topic === 'b') throw new Error('b failed');
      },
    };
    const p = oneAtATime(adapter);
    const rec = (topic: string) => [{ topic, key: Buffer.from('k'), value: Buffer.from('v') }];
    const results = await Promise.allSettled([p.send(rec('a')), p.send(rec('b')), p.send(rec('c'))]);
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });
});
