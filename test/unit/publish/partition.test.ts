import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import type { PartitionMetadata } from 'kafkajs';
import { murmur2 as platformaticMurmur2 } from '@platformatic/kafka';
import { keyHash, murmur2, partitionFor } from '../../../services/shared/kafka/partition.ts';

/** What kafkajs's default (Java-compatible) partitioner picks for `key` on a topic of `n` partitions. */
function kafkajsPartition(key: Buffer, n: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: n }, (_, i) => ({
    partitionErrorCode: 0, partitionId: i, leader: 1, replicas: [1], isr: [1],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

const callIds = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 80 }).map((a) => Buffer.from(a)),
  fc.string({ minLength: 1, maxLength: 60 }).map((s) => Buffer.from(`${s}@192.0.2.10`)),
);

describe('key → partition (Java/kafkajs murmur2)', () => {
  it('matches the Java client on its published test vectors', () => {
    // From Kafka's UtilsTest.testMurmur2.
    const vectors: Array<[string, number]> = [
      ['21', -973932308], ['foobar', -790332482], ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829], ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, want] of vectors) assert.equal(murmur2(Buffer.from(s)), want, s);
  });

  it('puts every key on the partition kafkajs DefaultPartitioner picks, for 1..64 partitions', () => {
    fc.assert(
      fc.property(callIds, fc.integer({ min: 1, max: 64 }), (key, n) => {
        assert.equal(partitionFor(key, n), kafkajsPartition(key, n));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with @platformatic/kafka murmur2 once masked (its default partitioner does not mask)', () => {
    let differsFromUnmasked = 0;
    fc.assert(
      fc.property(callIds, (key) => {
        const theirs = platformaticMurmur2(key);
        assert.equal(keyHash(key), theirs & 0x7fffffff);
        if ((theirs >>> 0) % 6 !== keyHash(key) % 6) differsFromUnmasked++;
      }),
      { numRuns: 5_000 },
    );
    assert.ok(differsFromUnmasked > 0, 'the unmasked default really does move keys');
  });
});
