/**
 * Builds the collector with its Kafka publisher from validated settings: used by the collector's own entry point
 * and by tests and benches that run it in-process. Order matters twice: the publisher's metrics are registered before the
 * collector's (they share the dropped counter), and the publisher is added to the supervisor first so it is
 * closed last, after the listeners stopped taking packets.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DiskSpool, KafkaPublisher, KafkaRecordProducer, PlatformaticRecordProducer, PublisherMetrics, type FsyncPolicy, type RecordProducer } from './publish/index.ts';
import { Collector, type CollectorConfig } from './service.ts';
import type { Component } from '../shared/lifecycle.ts';

export interface CollectorWiring {
  readonly publisher: KafkaPublisher;
  readonly collector: Collector;
  /** In supervisor order. */
  readonly components: readonly Component[];
}

/** The process's kafkajs client (admin, consumers, and the kafkajs publisher) and what a second client needs. */
export interface CollectorKafka {
  readonly client: Kafka;
  readonly brokers: readonly string[];
  readonly clientId: string;
}

export function buildCollectorWithPublisher(config: CollectorConfig, kafka: CollectorKafka, registry: Registry, log: Logger): CollectorWiring {
  const fsync: FsyncPolicy = config.publishSpoolFsync === 'interval'
    ? `interval:${config.publishSpoolFsyncInterval}`
    : config.publishSpoolFsync;
  const spool = config.publishSpoolBytes > 0
    ? new DiskSpool({ dir: config.publishSpoolDir, maxBytes: config.publishSpoolBytes, fsync, log: log.child({ component: 'spool' }) })
    : undefined;
  const publisher = new KafkaPublisher({
    producer: buildProducer(config, kafka, log.child({ component: 'kafka-producer' })),
    spool,
    metrics: new PublisherMetrics(registry),
    log: log.child({ component: 'publisher' }),
    maxQueueBytes: config.publishQueueBytes,
    lingerMs: config.publishLinger,
  });
  const collector = new Collector({ config, sink: publisher, log, registry });
  return { publisher, collector, components: [publisher, collector] };
}

function buildProducer(config: CollectorConfig, kafka: CollectorKafka, log: Logger): RecordProducer {
  return config.publishKafkaClient === 'kafkajs'
    ? new KafkaRecordProducer({ kafka: kafka.client, log })
    : new PlatformaticRecordProducer({ brokers: kafka.brokers, clientId: kafka.clientId, log });
}
