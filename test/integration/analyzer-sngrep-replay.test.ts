/**
 * The case issue 14 was measured on, with the real sender: sngrep replays a 2005 softphone capture
 * (test/fixtures/pcap/sngrep-aaa.pcap) as HEP into the collector, the analyzer stores it. Before retention counted
 * from arrival, ClickHouse kept 0 of the 81 acknowledged messages, and the three password-retried call attempts
 * became six rows. Now: 81 messages with their 2005 times (after TTL merges), 4 calls, 18 registrations.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import type { CollectorConfig } from '../../services/collector/service.ts';
import { collectorSettings } from '../../services/collector/settings.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from '../../services/collector/wiring.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { run, SNGREP } from '../support/kamailio.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

const PCAP = fileURLToPath(new URL('../fixtures/pcap/sngrep-aaa.pcap', import.meta.url));
const skip = existsSync(SNGREP) ? false : `sngrep is not installed at ${SNGREP} (npm run setup installs it)`;

describe('sngrep replaying a 2005 capture as HEP → collector → analyzer', { timeout: 180_000, skip }, () => {
  const env = new AnalyzerEnv();
  const registry = new Registry();
  let wiring: CollectorWiring | undefined;
  let analyzer: AnalyzerConsumer | undefined;
  let spool = '';

  before(async () => {
    await env.setup();
    spool = mkdtempSync(join(tmpdir(), 'tg-an-spool-'));
    const config: CollectorConfig = { ...parseSettings(collectorSettings, { PUBLISH_SPOOL_DIR: spool }), hepPort: 0, kafkaTopicPrefix: env.prefix };
    wiring = buildCollectorWithPublisher(config, { client: env.kafka, brokers: env.kafkaBrokers, clientId: 'analyzer-sngrep' }, new Registry(), pino({ level: 'silent' }));
    for (const c of wiring.components) await c.start();
    analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '200ms' }, env.store, registry);
  });

  after(async () => {
    await analyzer?.close();
    for (const c of [...(wiring?.components ?? [])].reverse()) await c.close();
    await env.cleanup();
    if (spool !== '') rmSync(spool, { recursive: true, force: true });
  });

  it('stores all 81 messages with their capture times, one call per attempt, and says so in the metrics', async () => {
    const udp = wiring!.collector.udp.addresses[0]!;
    const r = await run(SNGREP, ['-N', '-q', '-I', PCAP, '-H', `udp:127.0.0.1:${udp.slice(udp.lastIndexOf(':') + 1)}`], 30_000);
    assert.equal(r.code, 0, `sngrep failed (${r.code}): ${r.stderr.slice(-500)}`);
    for (const until = Date.now() + 60_000; (await env.count('sip_messages')) < 81 && Date.now() < until;) await new Promise((res) => setTimeout(res, 250));
    await env.waitCaughtUp(60_000);
    await env.waitForRows({ calls: 4, registrations: 18 });
    for (const t of ['sip_messages', 'calls', 'registrations']) await env.store.command('OPTIMIZE TABLE {t:Identifier} FINAL', { t });
    assert.equal(await env.count('sip_messages'), 81);
    assert.equal(await env.count('sip_messages', 'toYear(ts) = 2005'), 81);
    const calls = await env.store.query<{ state: string; attempts: number; auth_challenges: number }>(
      'SELECT state, attempts, auth_challenges FROM calls ORDER BY setup_ts');
    assert.deepEqual(calls.map((c) => [c.state, Number(c.attempts), Number(c.auth_challenges)]),
      [['cancelled', 1, 0], ['rejected', 2, 1], ['rejected', 2, 1], ['no_answer', 2, 1]]);
    assert.equal(await env.count('registrations'), 18);
    assert.match(await registry.metrics(), /tollgate_analyzer_old_capture_rows_total\{table="sip_messages"\} 81/);
    process.stderr.write('[analyzer-sngrep-replay] sngrep → collector → analyzer: 81 of 81 messages kept (2005 capture times), 4 calls, 18 registrations\n');
  });
});
