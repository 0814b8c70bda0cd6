/**
 * The collector as one Component: validates its settings, builds the intake and the listeners, and hands accepted
 * records to a RecordSink (the Kafka publisher). Started after the sink and closed before it, so nothing is offered
 * to a publisher that is draining.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { TollgateError } from '../shared/errors.ts';
import { healthReport, Once, type Component, type ComponentHealth } from '../shared/lifecycle.ts';
import type { Parsed } from '../shared/config/settings.ts';
import { CidrList } from './cidr.ts';
import { CollectorErrors } from './errors.ts';
import { Intake, type HeaderMode } from './intake.ts';
import { bindTargets, formatBind } from './listeners/binds.ts';
import { StreamListener, type StreamListenerOptions } from './listeners/tcp.ts';
import { TlsListener } from './listeners/tls.ts';
import { UdpListener } from './listeners/udp.ts';
import { Pipeline, SenderTable } from './pipeline.ts';
import type { collectorSettings } from './settings.ts';
import type { RecordSink } from './sink.ts';
import { CollectorStats } from './stats.ts';

export type CollectorConfig = Parsed<typeof collectorSettings> & { readonly kafkaTopicPrefix: string };

export interface CollectorOptions {
  readonly config: CollectorConfig;
  readonly sink: RecordSink;
  readonly log: Logger;
  /** Register after the publisher's metrics: the dropped counter is shared (see stats.ts). */
  readonly registry?: Registry;
  /** Overrides `PUBLISH_HEADERS`. */
  readonly headers?: HeaderMode;
}

/** Settings checks that span several variables; thrown at start so the operator sees one clear message. */
export function checkCollectorConfig(c: CollectorConfig): { tlsPort: number | undefined; allow: CidrList | undefined; captureIds: Set<number> | undefined } {
  const tlsSet = [c.hepTlsPort, c.hepTlsCert, c.hepTlsKey].filter((x) => x !== undefined && x !== '').length;
  if (tlsSet !== 0 && tlsSet !== 3) {
    throw new TollgateError(CollectorErrors.badTlsConfig,
      'HEP over TLS needs HEP_TLS_PORT, HEP_TLS_CERT and HEP_TLS_KEY together (set all three, or none to turn TLS off)');
  }
  let tlsPort: number | undefined;
  if (c.hepTlsPort !== undefined) {
    tlsPort = /^\d+$/.test(c.hepTlsPort) ? Number(c.hepTlsPort) : NaN;
    if (!(tlsPort >= 0 && tlsPort <= 65535)) {
      throw new TollgateError(CollectorErrors.badTlsConfig, `HEP_TLS_PORT="${c.hepTlsPort}" is not a port number`);
    }
    if (tlsPort === c.hepPort && tlsPort !== 0) {
      throw new TollgateError(CollectorErrors.badTlsConfig, `HEP_TLS_PORT must differ from HEP_PORT (${c.hepPort}): TCP already listens there`);
    }
  }
  const allow = c.hepAllowedSources.trim() === '' ? undefined : CidrList.parse(c.hepAllowedSources);
  const captureIds = c.hepCaptureIds.trim() === ''
    ? undefined
    : new Set(c.hepCaptureIds.split(',').map((x) => Number(x.trim())));
  return { tlsPort, allow, captureIds };
}

export class Collector implements Component {
  readonly name = 'hep-collector';
  readonly stats = new CollectorStats();
  readonly intake: Intake;
  readonly udp: UdpListener;
  readonly tcp: StreamListener;
  readonly tls: TlsListener | undefined;
  readonly #listeners: Component[];
  readonly #closing = new Once();
  #clock: NodeJS.Timeout | undefined;

  constructor(opts: CollectorOptions) {
    const c = opts.config;
    const { tlsPort, allow, captureIds } = checkCollectorConfig(c);
    const binds = bindTargets(c.hepHost, c.hepIpv6);
    if (binds === undefined) {
      throw new TollgateError(CollectorErrors.bindFailed,
        `HEP_IPV6=true needs HEP_HOST to be 127.0.0.1, 0.0.0.0 or an IPv6 address; ${c.hepHost} has no IPv6 counterpart`);
    }
    this.intake = new Intake({
      topicPrefix: c.kafkaTopicPrefix,
      authKey: c.hepAuthKey,
      captureIds,
      maxPacketSize: c.hepMaxPacketSize,
      timestampSkewMs: c.hepTimestampSkew,
      headers: opts.headers ?? c.publishHeaders,
      decode: c.hepDecode,
      envelopeSlabBytes: c.hepEnvelopeSlab,
    });
    const pipeline = new Pipeline(this.intake, opts.sink, this.stats);
    const senders = new SenderTable(allow);
    const log = opts.log;
    this.udp = new UdpListener({ binds, port: c.hepPort, recvBufferSize: c.hepUdpRecvBuffer, pipeline, senders, log });
    const streamOpts: StreamListenerOptions = {
      binds, port: c.hepPort, pipeline, senders, log,
      maxConnections: c.hepMaxTcpConnections, idleTimeoutMs: c.hepTcpIdleTimeout, maxPacketSize: c.hepMaxPacketSize,
    };
    this.tcp = new StreamListener('tcp', streamOpts);
    this.tls = tlsPort === undefined
      ? undefined
      : new TlsListener({ ...streamOpts, port: tlsPort }, { certFile: c.hepTlsCert!, keyFile: c.hepTlsKey! });
    this.#listeners = [this.udp, this.tcp, ...(this.tls ? [this.tls] : [])];
    if (opts.registry) this.stats.register(opts.registry);
  }

  async start(): Promise<void> {
    for (const l of this.#listeners) {
      try {
        await l.start();
      } catch (err) {
        await Promise.all(this.#listeners.map((x) => x.close()));
        throw err;
      }
    }
    // Envelope times come from the monotonic clock plus this offset; re-reading it follows NTP corrections.
    this.#clock = setInterval(() => this.intake.syncClock(), 1_000);
    this.#clock.unref();
  }

  /** Human lines for the start banner: "HEP udp 127.0.0.1:9060". */
  describe(): string[] {
    return [
      ...this.udp.addresses.map((a) => `HEP udp ${a}`),
      ...this.tcp.addresses.map((a) => `HEP tcp ${a}`),
      ...(this.tls?.addresses ?? []).map((a) => `HEP tls ${a}`),
    ];
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      clearInterval(this.#clock);
      await Promise.all(this.#listeners.map((l) => l.close()));
    });
  }

  async destroy(): Promise<void> {
    clearInterval(this.#clock);
    await Promise.all(this.#listeners.map((l) => l.destroy()));
  }

  health(): ComponentHealth {
    const report = healthReport(this.#listeners);
    const detail = Object.entries(report.components).map(([n, h]) => `${n}: ${h.state}${h.detail ? ` (${h.detail})` : ''}`).join('; ');
    return { state: report.status, detail };
  }
}

export { formatBind };
