/**
 * The API over real data: the API scenarios are sent as HEP over TCP to a real collector, published to Kafka,
 * turned into rows by the real analyzer, and served by the API built exactly as in production (buildApiServer).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import { buildApiServer } from '../../services/api/service.ts';
import { apiSettings } from '../../services/api/settings.ts';
import type { ApiServer } from '../../services/api/server.ts';
import { collectorSettings } from '../../services/collector/settings.ts';
import { buildCollectorWithPublisher } from '../../services/collector/wiring.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import type { SqlStore } from '../../services/shared/clickhouse/client.ts';
import { encodeRtcp } from '../../services/analyzer/qos/rtcp.ts';
import { sendTcp } from '../support/hep-sender.ts';
import { testLogger } from '../support/test-output.ts';
import { API_TEST_KEYS } from '../support/test-secrets.ts';
import { apiScenarios, hepOf, type ApiScenarios } from '../support/api-scenarios.ts';
import { AnalyzerEnv, baseTimeUs } from './analyzer-harness.ts';

export const KEYS = API_TEST_KEYS;

export const API_KEYS = [
  `admin:${KEYS.admin}:admin`,
  `noc:${KEYS.noc}:calls.read`,
  `acme:${KEYS.acme}:calls.read@acme`,
  `fraud:${KEYS.fraud}:fraud.read`,
  `pii:${KEYS.pii}:calls.read+pii.read`,
].join(',');

export class ApiEnv {
  readonly env = new AnalyzerEnv();
  readonly t0 = baseTimeUs();
  scenarios!: ApiScenarios;
  analyzer: AnalyzerConsumer | undefined;
  api!: ApiServer;
  masked!: ApiServer;
  #spool = '';

  async setup(): Promise<void> {
    await this.env.setup();
    this.scenarios = apiScenarios(this.t0);
    this.#spool = mkdtempSync(join(tmpdir(), 'tg-api-spool-'));
    const kafka = new Kafka({ clientId: 'api-test-collector', brokers: this.env.kafkaBrokers, logLevel: logLevel.NOTHING });
    const config = {
      ...parseSettings(collectorSettings, { PUBLISH_SPOOL_DIR: this.#spool, HEP_IPV6: 'true' }),
      hepPort: 0,
      kafkaTopicPrefix: this.env.prefix,
    };
    const wiring = buildCollectorWithPublisher(config, { client: kafka, brokers: this.env.kafkaBrokers, clientId: 'api-test-collector' }, new Registry(), testLogger('api-collector'));
    for (const c of wiring.components) await c.start();
    try {
      const tcp = wiring.collector.tcp.addresses[0]!;
      const port = Number(tcp.slice(tcp.lastIndexOf(':') + 1));
      const s = this.scenarios;
      const aInvite = s.packets.find((p) => p.callId === s.aLeg)!;
      const rtcp = encodeRtcp([{ type: 'sr', reporterSsrc: 11, sender: { ntpTs: 1n, rtpTs: 2, packets: 300, octets: 48_000 }, blocks: [
        { sourceSsrc: 22, fractionLost: 64, cumulativeLost: 4, highestSeq: 900, jitter: 40, lsr: 0, dlsr: 0 }] }]);
      const hep = [
        ...s.packets.map((p) => hepOf(p)),
        hepOf({ ...aInvite, tsUs: this.t0 + 5_000_000, src: { ip: '192.0.2.10', port: 16384 }, dst: { ip: '192.0.2.1', port: 20000 } },
          { payloadType: 5, correlationId: s.aLeg, payload: rtcp }),
        ...s.clock.map((p) => hepOf(p)),
      ];
      await sendTcp('127.0.0.1', port, hep);
    } finally {
      for (const c of [...wiring.components].reverse()) await c.close();
    }
    this.analyzer = await this.env.startInProcess({ TENANT_DOMAINS: 'a.example=acme,*.b.example=beta' });
    await this.env.waitCaughtUp();
    this.api = this.build({});
    this.masked = this.build({ API_MASK_NUMBERS: 'true' });
    await this.api.start();
    await this.masked.start();
  }

  build(extra: Record<string, string>, rateLimit?: string, store: SqlStore = this.env.store): ApiServer {
    const config = parseSettings(apiSettings, { API_HOST: '127.0.0.1', API_PORT: '1', API_KEYS, API_MAX_RANGE: '31d', ...(rateLimit ? { API_RATE_LIMIT: rateLimit } : { API_RATE_LIMIT: '100000' }), ...extra });
    const server = buildApiServer({ ...config, apiPort: 0 } as typeof config, {
      store, log: testLogger('api'), registry: new Registry(),
      health: () => ({ status: 'ok', components: {} }),
    });
    return server;
  }

  get base(): string {
    return `http://127.0.0.1:${this.api.port}`;
  }

  async cleanup(): Promise<void> {
    await this.api?.close();
    await this.masked?.close();
    await this.analyzer?.close();
    await this.env.cleanup();
    if (this.#spool) rmSync(this.#spool, { recursive: true, force: true });
  }
}
