/**
 * Real SIP through the sample edge proxy: sipp UACs → Kamailio (deploy/kamailio/kamailio.cfg, REGISTER challenged
 * for users provisioned over JSON-RPC) → sipp UASs answering, refusing busy, not answering, or being cancelled.
 * Kamailio's siptrace mirrors every message as HEP to the collector, the collector publishes capture envelopes to
 * Kafka, and the analyzer must turn them into exact calls and registrations.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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
import { optionsScenario, sipEnvelope } from '../support/sip-scenarios.ts';
import { KAMAILIO, run, SIPP, writeTemp } from '../support/kamailio.ts';
import { freePort, waitUdpBound } from '../support/ports.ts';
import { AnalyzerEnv, PARTITIONS } from './analyzer-harness.ts';

const CFG = fileURLToPath(new URL('../../deploy/kamailio/kamailio.cfg', import.meta.url));
const N = { register: 4, wrongPassword: 2, answered: 5, busy: 3, noAnswer: 3, cancelled: 3 };

const HDR = (method: string, cseq: string) => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@tollgate.test>;tag=[pid]SIPpTag00[call_number]
Call-ID: [call_id]
CSeq: ${cseq} ${method}
Max-Forwards: 70
Contact: <sip:alice@[local_ip]:[local_port]>
User-Agent: sipp-uac`;

const INVITE = `<send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${HDR('INVITE', '1')}
To: <sip:[service]@tollgate.test>
Content-Length: 0

]]></send>`;

const ackFor = (back: number) => `<send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-${back}]
From: <sip:alice@tollgate.test>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>`;

const UAC_ANSWER = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uac-answer">
${INVITE}
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="200" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: <sip:alice@tollgate.test>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="300"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: <sip:alice@tollgate.test>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>`;

const uacFinal = (code: number) => `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uac-${code}">
${INVITE}
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="${code}"/>
${ackFor(4)}
</scenario>`;

const UAC_CANCEL = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uac-cancel">
${INVITE}
<recv response="100" optional="true"/>
<recv response="180"/>
<send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
From: <sip:alice@tollgate.test>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@tollgate.test>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
<recv response="487"/>
${ackFor(6)}
</scenario>`;

const register = (password: string, final: number) => `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${HDR('REGISTER', '1')}
To: <sip:alice@tollgate.test>
Expires: 300
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${HDR('REGISTER', '2')}
To: <sip:alice@tollgate.test>
Expires: 300
[authentication username=alice password=${password}]
Content-Length: 0

]]></send>
<recv response="${final}"/>
</scenario>`;

const RESP = (code: string, tag: boolean) => `<send><![CDATA[
SIP/2.0 ${code}
[last_Via:]
[last_From:]
[last_To:]${tag ? ';tag=[pid]SIPpTag01[call_number]' : ''}
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:bob@[local_ip]:[local_port]>
Server: sipp-uas
Content-Length: 0

]]></send>`;

const UAS_ANSWER = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uas-answer">
<recv request="INVITE"/>
${RESP('180 Ringing', true)}
${RESP('200 OK', true)}
<recv request="ACK"/>
<recv request="BYE"/>
${RESP('200 OK', false)}
</scenario>`;

const uasFinal = (code: string) => `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uas-final">
<recv request="INVITE"/>
${RESP('180 Ringing', true)}
<pause milliseconds="100"/>
${RESP(code, true)}
<recv request="ACK"/>
</scenario>`;

const UAS_CANCEL = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uas-cancel">
<recv request="INVITE"/>
${RESP('180 Ringing', true)}
<recv request="CANCEL"/>
${RESP('200 OK', true)}
<send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>`;

interface Kam {
  sipPort: number;
  rpcPort: number;
  stop(): Promise<void>;
}

/** Like test/support/kamailio.ts, but keeps the JSON-RPC port, which provisioning needs. */
async function startKamailio(hepPort: number): Promise<Kam> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-kam-an-'));
  const sipPort = await freePort();
  const rpcPort = await freePort();
  const child: ChildProcess = spawn(KAMAILIO, ['-f', CFG, '-A', `SIP_PORT=${sipPort}`, '-A', `RPC_PORT=${rpcPort}`,
    '-A', `HEP_URI="sip:127.0.0.1:${hepPort}"`, '-P', join(dir, 'kamailio.pid'), '-w', dir, '-E', '-DD'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kamailio exited ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`http://127.0.0.1:${rpcPort}/RPC`, { method: 'POST', body: '{"jsonrpc":"2.0","method":"core.version","id":1}' })
      .then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kamailio did not answer JSON-RPC on ${rpcPort}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    sipPort,
    rpcPort,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const available = existsSync(KAMAILIO) && existsSync(SIPP);

describe('analyzer + collector + Kamailio + sipp: exact calls and registrations', { timeout: 240_000, skip: !available }, () => {
  const env = new AnalyzerEnv();
  let wiring: CollectorWiring | undefined;
  let kam: Kam | undefined;
  let analyzer: AnalyzerConsumer | undefined;
  const temps: Array<() => void> = [];
  const uas: ChildProcess[] = [];

  before(async () => {
    await env.setup();
    const spool = mkdtempSync(join(tmpdir(), 'tg-an-spool-'));
    temps.push(() => rmSync(spool, { recursive: true, force: true }));
    const config: CollectorConfig = { ...parseSettings(collectorSettings, { PUBLISH_SPOOL_DIR: spool }), hepPort: 0, kafkaTopicPrefix: env.prefix };
    wiring = buildCollectorWithPublisher(config, { client: env.kafka, brokers: env.kafkaBrokers, clientId: 'analyzer-sipp' }, new Registry(), pino({ level: 'silent' }));
    for (const c of wiring.components) await c.start();
    const udp = wiring.collector.udp.addresses[0]!;
    kam = await startKamailio(Number(udp.slice(udp.lastIndexOf(':') + 1)));
    const rpc = await fetch(`http://127.0.0.1:${kam.rpcPort}/RPC`, {
      method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method: 'htable.sets', params: ['subscribers', 'alice', 'secret'], id: 1 }),
    });
    assert.equal(rpc.status, 200);
  });

  after(async () => {
    for (const u of uas) if (u.exitCode === null) u.kill('SIGKILL');
    await analyzer?.close();
    await kam?.stop();
    for (const c of [...(wiring?.components ?? [])].reverse()) await c.close();
    await env.cleanup();
    for (const t of temps) t();
  });

  function file(name: string, xml: string): string {
    const t = writeTemp(name, xml);
    temps.push(t.cleanup);
    return t.path;
  }

  async function uac(xml: string, calls: number, target: string, rsa?: string): Promise<void> {
    const port = await freePort();
    const args = ['-sf', file('uac.xml', xml), target, '-i', '127.0.0.1', '-p', String(port), '-m', String(calls), '-r', '20',
      '-s', 'bob', '-nostdin', '-timeout', '30s', '-timeout_error', ...(rsa ? ['-rsa', rsa] : [])];
    const r = await run(SIPP, args, 60_000);
    assert.equal(r.code, 0, `sipp UAC failed (${r.code}): ${r.stderr.slice(-800)} ${r.stdout.slice(-800)}`);
  }

  async function startUas(xml: string): Promise<number> {
    const port = await freePort();
    const child = spawn(SIPP, ['-sf', file('uas.xml', xml), '-i', '127.0.0.1', '-p', String(port), '-nostdin', '-timeout', '120s'],
      { stdio: ['ignore', 'ignore', 'ignore'] });
    uas.push(child);
    await waitUdpBound(port, child, 'sipp UAS');
    return port;
  }

  it('turns the traffic into exact rows', async () => {
    const kamAddr = `127.0.0.1:${kam!.sipPort}`;
    await uac(register('secret', 200), N.register, kamAddr);
    await uac(register('wrong', 401), N.wrongPassword, kamAddr);
    const ans = await startUas(UAS_ANSWER);
    const busy = await startUas(uasFinal('486 Busy Here'));
    const noa = await startUas(uasFinal('480 Temporarily Unavailable'));
    const can = await startUas(UAS_CANCEL);
    await uac(UAC_ANSWER, N.answered, `127.0.0.1:${ans}`, kamAddr);
    await uac(uacFinal(486), N.busy, `127.0.0.1:${busy}`, kamAddr);
    await uac(uacFinal(480), N.noAnswer, `127.0.0.1:${noa}`, kamAddr);
    await uac(UAC_CANCEL, N.cancelled, `127.0.0.1:${can}`, kamAddr);
    // Let the last mirrored packets reach Kafka, then move every partition's capture clock past all timeouts.
    await new Promise((r) => setTimeout(r, 2_000));
    const late = Date.now() * 1000 + 3 * 3_600_000_000;
    for (let p = 0; p < PARTITIONS; p++) {
      const clock = optionsScenario(`clock-${p}-${env.prefix}`, late, { user: 'ping', domain: 'clock.test' });
      await env.produce('hepSip', clock.packets.map((pk) => ({ key: pk.callId, value: sipEnvelope(pk), partition: p })));
    }
    analyzer = await env.startInProcess();
    await env.waitCaughtUp();

    const mirrored = await env.endOffsetsSum('hepSip');
    assert.equal(await env.count('sip_messages') + await env.count('sip_quarantine'), mirrored);
    assert.equal(await env.count('sip_quarantine'), 0);
    const calls = await env.store.query<{ state: string; n: string }>(
      "SELECT state, count() AS n FROM calls WHERE call_id NOT LIKE 'clock-%' GROUP BY state ORDER BY state");
    assert.deepEqual(calls.map((c) => [c.state, Number(c.n)]), [
      ['answered', N.answered], ['busy', N.busy], ['cancelled', N.cancelled], ['no_answer', N.noAnswer],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    const [hops] = await env.store.query<{ h: number }>('SELECT min(hops) AS h FROM calls');
    assert.equal(Number(hops!.h), 2, 'siptrace captures each INVITE on the way in and out of Kamailio');
    const regs = await env.store.query<{ outcome: string; n: string }>('SELECT outcome, count() AS n FROM registrations GROUP BY outcome ORDER BY outcome');
    assert.deepEqual(regs.map((r) => [r.outcome, Number(r.n)]), [
      ['auth_failed', N.wrongPassword], ['challenge', N.register + N.wrongPassword], ['registered', N.register],
    ]);
  });
});
