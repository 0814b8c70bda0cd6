/** HEP over UDP: one datagram, one packet. One socket per bind target (IPv4 and, with HEP_IPV6, IPv6). */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import { TollgateError } from '../../shared/errors.ts';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import { CollectorErrors } from '../errors.ts';
import type { Pipeline, SenderTable } from '../pipeline.ts';
import { formatBind, type BindTarget } from './binds.ts';

export interface UdpListenerOptions {
  readonly binds: readonly BindTarget[];
  readonly port: number;
  readonly recvBufferSize: number;
  readonly pipeline: Pipeline;
  readonly senders: SenderTable;
  readonly log: Logger;
}

export class UdpListener implements Component {
  readonly name = 'hep-udp';
  readonly #sockets: dgram.Socket[] = [];
  readonly #closing = new Once();
  readonly #log: Logger;
  #failure: Error | undefined;
  #bound: string[] = [];

  constructor(private readonly opts: UdpListenerOptions) {
    this.#log = opts.log.child({ component: 'hep-udp' });
  }

  /** `host:port` of every bound socket (the real port when 0 was asked). */
  get addresses(): readonly string[] {
    return this.#bound;
  }

  async start(): Promise<void> {
    for (const b of this.opts.binds) {
      const socket = dgram.createSocket({
        type: b.family === 6 ? 'udp6' : 'udp4',
        ipv6Only: b.ipv6Only,
        recvBufferSize: this.opts.recvBufferSize,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', (err) => reject(new TollgateError(CollectorErrors.bindFailed,
          `HEP UDP cannot bind ${formatBind(b.address, this.opts.port)}: ${err.message}`, { address: b.address, port: this.opts.port }, { cause: err })));
        // Not exclusive: under `npm start` every collector process (a cluster worker) reads the one socket the
        // supervisor holds, so each datagram goes to whichever process is free. Outside a cluster this changes nothing.
        socket.bind({ address: b.address, port: this.opts.port, exclusive: false }, () => resolve());
      });
      socket.removeAllListeners('error');
      socket.on('error', (err) => this.#fail(err));
      this.#attach(socket);
      this.#sockets.push(socket);
      const addr = socket.address();
      this.#bound.push(formatBind(addr.address, addr.port));
      const effective = socket.getRecvBufferSize();
      // Linux reports twice the usable size and silently caps the request at net.core.rmem_max.
      const level = effective < this.opts.recvBufferSize ? 'warn' : 'info';
      this.#log[level]({ address: formatBind(addr.address, addr.port), requested: this.opts.recvBufferSize, effective },
        level === 'warn' ? 'HEP UDP receive buffer capped by the kernel (raise net.core.rmem_max)' : 'HEP UDP listening');
    }
  }

  #attach(socket: dgram.Socket): void {
    const { pipeline, senders } = this.opts;
    const stats = pipeline.stats;
    socket.on('message', (msg, rinfo) => {
      const hr = process.hrtime.bigint();
      const sender = senders.get(rinfo.address, rinfo.port);
      if (sender === undefined) {
        stats.drop('source_not_allowed');
        return;
      }
      pipeline.handle(msg, sender, hr, 'udp');
    });
  }

  #fail(err: Error): void {
    this.#failure = new TollgateError(CollectorErrors.listenerFailed, `HEP UDP socket failed: ${err.message}`, {}, { cause: err });
    this.#log.error({ err: this.#failure }, 'HEP UDP socket failed');
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      await Promise.all(this.#sockets.map((s) => new Promise<void>((resolve) => {
        try {
          s.close(() => resolve());
        } catch (err) {
          // Already closed by a socket error: nothing left to release. Anything else is a bug worth surfacing.
          if ((err as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw err;
          resolve();
        }
      })));
      this.#sockets.length = 0;
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#failure) return { state: 'down', detail: this.#failure.message };
    return this.#sockets.length > 0 ? { state: 'ok', detail: this.#bound.join(', ') } : { state: 'down', detail: 'not listening' };
  }
}
