/**
 * Every topic tollgate uses, created by our own admin code with explicit partitions and retention (the broker's
 * auto-create is off in the local stack and should be off in production).
 */
import type { Admin } from 'kafkajs';

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
  readonly doc: string;
}

export const TOPIC_SUFFIX = {
  hepSip: 'hep.sip',
  hepRtcp: 'hep.rtcp',
  hepQos: 'hep.qos',
  hepLog: 'hep.log',
  hepOther: 'hep.other',
  sipEvents: 'sip.events',
  quarantine: 'sip.quarantine',
} as const;

export type TopicKey = keyof typeof TOPIC_SUFFIX;

const DOCS: Record<TopicKey, string> = {
  hepSip: 'HEP packets carrying SIP, keyed by Call-ID (or HEP correlation id).',
  hepRtcp: 'HEP packets carrying RTCP, keyed by correlation id.',
  hepQos: 'HEP QoS / RTCP-XR JSON reports, keyed by correlation id.',
  hepLog: 'HEP log payloads (types 100, 86, 87).',
  hepOther: 'HEP packets of any other payload type.',
  sipEvents: 'Normalized SIP events for the detectors, keyed by source IP.',
  quarantine: 'Messages the analyzer could not parse, with the reason.',
};

export function topicName(prefix: string, key: TopicKey): string {
  return `${prefix}${TOPIC_SUFFIX[key]}`;
}

export function topicCatalogue(prefix: string, partitions: number, retentionMs: number): TopicSpec[] {
  return (Object.keys(TOPIC_SUFFIX) as TopicKey[]).map((key) => ({
    name: topicName(prefix, key),
    partitions,
    retentionMs,
    doc: DOCS[key],
  }));
}

/** Creates missing topics; existing ones are left as they are (partitions are never reduced). */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((t) => !existing.has(t.name));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: -1,
      configEntries: [
        { name: 'retention.ms', value: String(t.retentionMs) },
        { name: 'compression.type', value: 'producer' },
      ],
    })),
  });
  return missing.map((t) => t.name);
}

/** `ensureTopics` through a short-lived admin connection of `kafka`, closed whatever happens. */
export async function ensureTopicsWith(kafka: { admin(): Admin }, specs: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, specs);
  } finally {
    await admin.disconnect();
  }
}
