/**
 * Kafka's key → partition mapping: the Java client's `Utils.murmur2` (seed 0x9747b28c), made positive with
 * `& 0x7fffffff`, modulo the partition count. kafkajs's `DefaultPartitioner` computes the same, so a Call-ID lands on
 * the same partition whichever producer adapter wrote it and whatever consumer reads the topic.
 *
 * @platformatic/kafka's own default differs (`>>> 0` instead of the mask: about half the keys move), and its murmur2
 * runs on BigInt; this one stays in 32-bit integers.
 */
const SEED = 0x9747b28c;
const M = 0x5bd1e995;

export function murmur2(key: Uint8Array): number {
  const len = key.length;
  let h = (SEED ^ len) | 0;
  const whole = len & ~3;
  let i = 0;
  for (; i < whole; i += 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = len & 3;
  if (rest > 0) {
    if (rest === 3) h ^= key[i + 2]! << 16;
    if (rest >= 2) h ^= key[i + 1]! << 8;
    h ^= key[i]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Non-negative; the producer reduces it modulo the topic's partition count. */
export function keyHash(key: Uint8Array): number {
  return murmur2(key) & 0x7fffffff;
}

export function partitionFor(key: Uint8Array, partitions: number): number {
  return keyHash(key) % partitions;
}
