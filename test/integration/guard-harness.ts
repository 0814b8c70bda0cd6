/**
 * The guard's end-to-end rig on loopback, every part real: Kamailio 5.6 (deploy/kamailio/kamailio.cfg on 127.0.0.10)
 * mirrors SIP as HEP to the collector → Kafka → analyzer → `sip.events` → guard → htable over JSON-RPC. Used by
 * test/integration/guard-e2e.test.ts (attackers + legitimate load) and bench/guard-soak.ts (legitimate load only,
 * for false positives). Every sender it starts has a call count and a timeout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { AnalyzerConsumer } from '../../services/analyzer/consumer/consumer.ts';
import type { CollectorConfig } from '../../services/collector/service.ts';
import { collectorSettings } from '../../services/collector/settings.ts';
import { buildCollectorWithPublisher, type CollectorWiring } from '../../services/collector/wiring.ts';
import type { AlertChange } from '../../services/guard/alerts.ts';
import { buildGuard, type GuardService } from '../../services/guard/service.ts';
import { guardSettings } from '../../services/guard/settings.ts';
import { parseSettings } from '../../services/shared/config/settings.ts';
import { kamailioEdge, type Edge } from '../support/guard-edges.ts';
import { KAMAILIO, OPTIONS_SCENARIO, SIPP } from '../support/kamailio.ts';
import { freePort, waitUdpBound } from '../support/ports.ts';
import { registerTestSecret, testLogger } from '../support/test-output.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { AnalyzerEnv } from './analyzer-harness.ts';

export const PROXY = '127.0.0.10';
export const LEGIT = { register: '127.0.0.31', monitor: '127.0.0.32', caller: '127.0.0.33', callee: '127.0.0.34' } as const;
export const ATTACK = { svmap: '127.0.0.21', sweep: '127.0.0.22', guess: '127.0.0.23', flood: '127.0.0.24', svwar: '127.0.0.1', fraud: '127.0.0.35' } as const;
/** A distributed guess on one account: five sources, three tries each (below the per-source threshold). */
export const DISTRIBUTED = ['127.0.0.51', '127.0.0.52', '127.0.0.53', '127.0.0.54', '127.0.0.55'] as const;
export const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
registerTestSecret(SECRET);
export const SVMAP = '/usr/bin/svmap';
export const SVWAR = '/usr/bin/svwar';
export const available = existsSync(KAMAILIO) && existsSync(SIPP) && existsSync(SVMAP) && existsSync(SVWAR);

const hdr = (user: string, method: string, cseq: number, ua: string) => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:${user}@tollgate.test>;tag=[pid]T[call_number]
Call-ID: [call_id]
CSeq: ${cseq} ${method}
Max-Forwards: 70
Contact: <sip:${user}@[local_ip]:[local_port]>
User-Agent: ${ua}`;

export const REGISTER_OK = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${hdr('alice', 'REGISTER', 1, 'Yealink SIP-T46S 66.86.0.15')}
To: <sip:alice@tollgate.test>
Expires: 300
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${hdr('alice', 'REGISTER', 2, 'Yealink SIP-T46S 66.86.0.15')}
To: <sip:alice@tollgate.test>
Expires: 300
[authentication username=alice password=secret]
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>`;

/** Extension sweep with an ordinary softphone UA: REGISTER for 100, 101, ... (unknown users get 403). */
export const SWEEP = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="sweep">
<send><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@tollgate.test>;tag=[pid]S[call_number]
To: <sip:[field0]@tollgate.test>
Call-ID: [call_id]
CSeq: 1 REGISTER
Max-Forwards: 70
Contact: <sip:[field0]@[local_ip]:[local_port]>
User-Agent: Zoiper rv2.10.20.2
Expires: 60
Content-Length: 0

]]></send>
<recv response="403" optional="true" next="done"/>
<recv response="401"/>
<label id="done"/>
</scenario>`;

/** Password guessing with an ordinary UA (sipp 3.6 cannot take the password from an injection file: one wrong guess, repeated). */
export const guess = (user: string) => `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="guess">
<send><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${hdr(user, 'REGISTER', 1, 'Linphone/5.2.0 (belle-sip/5.2.0)')}
To: <sip:${user}@tollgate.test>
Expires: 300
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send><![CDATA[
REGISTER sip:tollgate.test SIP/2.0
${hdr(user, 'REGISTER', 2, 'Linphone/5.2.0 (belle-sip/5.2.0)')}
To: <sip:${user}@tollgate.test>
Expires: 300
[authentication username=${user} password=letmein]
Content-Length: 0

]]></send>
<recv response="401"/>
</scenario>`;

/** INVITE flood at one extension on the proxy (404 from lookup, then 403 once banned): only the flood detector's business. */
export const FLOOD = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="flood">
<send><![CDATA[
INVITE sip:100@[remote_ip]:[remote_port] SIP/2.0
${hdr('flood', 'INVITE', 1, 'PortSIP VoIP SDK 11.2')}
To: <sip:100@tollgate.test>
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="403" optional="true" next="done"/>
<recv response="404"/>
<label id="done"/>
</scenario>`;

/** A call through the proxy to the UAS: R-URI user from `ruser`, 200, ACK, BYE after `holdMs`. */
export const call = (from: string, ruser: string, holdMs: number) => `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="call">
<send retrans="500"><![CDATA[
INVITE sip:${ruser}@[remote_ip]:[remote_port] SIP/2.0
${hdr(from, 'INVITE', 1, 'Asterisk PBX 20.5.0')}
To: <sip:${ruser}@[remote_ip]:[remote_port]>
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="200" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: <sip:${from}@tollgate.test>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="${holdMs}"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: <sip:${from}@tollgate.test>;tag=[pid]T[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>`;

export const UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?><scenario name="uas">
<recv request="INVITE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]U[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:bob@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<recv request="ACK"/>
<recv request="BYE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>`;


export class GuardRig {
  readonly env = new AnalyzerEnv();
  readonly dir = mkdtempSync(join(tmpdir(), 'tg-guard-e2e-'));
  readonly receiver = new WebhookReceiver();
  readonly procs: ChildProcess[] = [];
  readonly alerts: Array<AlertChange & { at: number }> = [];
  /** First time each key was seen in the Kamailio htable. */
  readonly onEdge = new Map<string, number>();
  inHtable = new Set<string>();
  dumpedAt = 0;
  wiring: CollectorWiring | undefined;
  analyzer: AnalyzerConsumer | undefined;
  edge!: Edge;
  guard!: GuardService;
  #watching = true;
  #watcher: Promise<void> | undefined;

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  async rpc(method: string, params: unknown[]): Promise<{ result?: unknown; error?: unknown }> {
    const r = await fetch(this.edge.rpcUrl, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }) });
    return (await r.json()) as { result?: unknown; error?: unknown };
  }

  spawnBounded(cmd: string, args: string[], ms: number): ChildProcess {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], cwd: this.dir });
    const t = setTimeout(() => c.kill('SIGKILL'), ms);
    c.once('exit', () => clearTimeout(t));
    this.procs.push(c);
    return c;
  }

  async sipp(src: string, scenario: string, opts: { calls: number; rate: number; ratePeriodMs?: number; inf?: string; target?: string; rsa?: string; ms?: number }): Promise<ChildProcess> {
    const port = await freePort();
    const args = ['-sf', scenario, opts.target ?? `${PROXY}:${this.edge.sipPort}`, '-i', src, '-p', String(port), '-m', String(opts.calls), '-r', String(opts.rate),
      '-rp', String(opts.ratePeriodMs ?? 1000), '-nostdin', '-timeout', `${Math.ceil((opts.ms ?? 60_000) / 1000)}s`, '-recv_timeout', '3000', '-default_behaviors', '-all,bye',
      ...(opts.inf ? ['-inf', opts.inf] : []), ...(opts.rsa ? ['-rsa', opts.rsa] : [])];
    return this.spawnBounded(SIPP, args, (opts.ms ?? 60_000) + 5_000);
  }

  async waitFor<T>(what: string, ms: number, fn: () => T | undefined | false): Promise<T> {
    const t0 = Date.now();
    for (;;) {
      const v = fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() - t0 > ms) {
        throw new Error(`${what}: not within ${ms} ms; alerts so far: ${this.alerts.map((a) => `${a.kind} ${a.alert.detector}/${a.alert.rule}/${a.alert.severity}@${a.alert.subject.value}`).join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async setup(opts: { blockTtlS: number }): Promise<void> {
    const env = this.env;
    await env.setup();
    const spool = mkdtempSync(join(this.dir, 'spool-'));
    const cconf: CollectorConfig = { ...parseSettings(collectorSettings, { PUBLISH_SPOOL_DIR: spool }), hepPort: 0, kafkaTopicPrefix: env.prefix };
    this.wiring = buildCollectorWithPublisher(cconf, { client: env.kafka, brokers: env.kafkaBrokers, clientId: 'guard-e2e' }, new Registry(), testLogger('guard-collector'));
    for (const c of this.wiring.components) await c.start();
    const udp = this.wiring.collector.udp.addresses[0]!;
    this.edge = await kamailioEdge({ sipAddr: PROXY, hepPort: Number(udp.slice(udp.lastIndexOf(':') + 1)) });
    for (const [u, p] of [['alice', 'secret'], ['carol', 'Str0ng-and-long!'], ['dave', 'An0ther-long-one']]) assert.ok((await this.rpc('htable.sets', ['subscribers', u!, p!])).result);
    this.analyzer = await env.startInProcess({ ANALYZER_BATCH_MAX_WAIT: '50ms' });
    const hook = await this.receiver.listen();
    const gconf = {
      ...parseSettings(guardSettings, {
        GUARD_GROUP_ID: `${env.groupId}-guard`, GUARD_ALLOWLIST: `${PROXY}/32`, KAMAILIO_RPC_URLS: this.edge.rpcUrl, GUARD_BLOCK_TTL: `${opts.blockTtlS}s`,
        ALERT_WEBHOOKS: `${hook}/tollgate`, ALERT_WEBHOOK_SECRET: SECRET, ALERT_WEBHOOK_GROUP_WAIT: '200ms',
      }),
      kafkaTopicPrefix: env.prefix, nodeName: 'guard-e2e',
    };
    this.guard = buildGuard(gconf, { kafka: env.kafka, store: env.store, registry: new Registry(), log: testLogger('guard') });
    this.guard.events.onAlert = (c) => this.alerts.push({ ...c, at: Date.now() });
    for (const c of this.guard.components) await c.start();
    // The edge as Kamailio sees it: its htable, polled every 50 ms.
    this.#watcher = (async () => {
      while (this.#watching) {
        const d = await this.rpc('htable.dump', ['ipban']).catch(() => ({ result: undefined }));
        if (Array.isArray(d.result)) {
          const now = new Set<string>();
          for (const slot of d.result as Array<{ slot: Array<{ name: string }> }>) for (const s of slot.slot) now.add(s.name);
          for (const ip of now) if (!this.onEdge.has(ip)) this.onEdge.set(ip, Date.now());
          this.inHtable = now;
          this.dumpedAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  /** Legitimate load for `ms`: registrations every 2 s, an OPTIONS monitor at 2/s, a call every 2 s through the proxy. Returns the UAS port. */
  async legitimate(ms: number): Promise<number> {
    const uasPort = await freePort();
    const uas = this.spawnBounded(SIPP, ['-sf', this.file('uas.xml', UAS), '-i', LEGIT.callee, '-p', String(uasPort), '-nostdin', '-timeout', `${Math.ceil(ms / 1000) + 30}s`], ms + 40_000);
    await waitUdpBound(uasPort, uas, 'sipp UAS');
    const n = Math.ceil(ms / 2_000);
    await this.sipp(LEGIT.register, this.file('register.xml', REGISTER_OK), { calls: n, rate: 1, ratePeriodMs: 2_000, ms: ms + 10_000 });
    await this.sipp(LEGIT.monitor, this.file('options.xml', OPTIONS_SCENARIO), { calls: 2 * Math.ceil(ms / 1_000), rate: 2, ms: ms + 10_000 });
    await this.sipp(LEGIT.caller, this.file('call.xml', call('alice', 'bob', 1_000)), { calls: n, rate: 1, ratePeriodMs: 2_000, target: `${LEGIT.callee}:${uasPort}`, rsa: `${PROXY}:${this.edge.sipPort}`, ms: ms + 10_000 });
    return uasPort;
  }

  /** Legitimate sources never blocked, never in the htable, never named in an alert (also as account alice). */
  legitProblems(): string[] {
    const out: string[] = [];
    for (const ip of Object.values(LEGIT)) {
      if (this.guard.blocklist.get(ip) !== undefined) out.push(`${ip} blocked: ${this.guard.blocklist.get(ip)!.reason}`);
      if (this.onEdge.has(ip)) out.push(`${ip} reached the htable`);
    }
    for (const a of this.alerts) {
      const s = a.alert.subject.value;
      if ((Object.values(LEGIT) as string[]).includes(s) || a.alert.blocked.some((b) => (Object.values(LEGIT) as string[]).includes(b)) || s === 'alice' || s.endsWith('/alice')) {
        out.push(`alert ${a.alert.detector}/${a.alert.rule} on ${s}`);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.#watching = false;
    await this.#watcher;
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const c of [...(this.guard?.components ?? [])].reverse()) await c.close().catch(() => undefined);
    await this.analyzer?.close();
    await this.edge?.dispose();
    for (const c of [...(this.wiring?.components ?? [])].reverse()) await c.close();
    await this.receiver.close();
    await this.env.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
