/**
 * HEP over a byte stream (TCP, and TLS through tls.ts): a HepStreamFramer per connection cuts packets; a framing
 * error means the stream lost sync for good, so the connection is closed and the reason counted. A packet that
 * frames fine but fails to decode is dropped alone and the connection stays.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { HepDecodeError, HepStreamFramer } from '../../shared/hep/index.ts';
import { TollgateError } from '../../shared/errors.ts';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import type { Transport } from '../../shared/hep/envelope.ts';
import { CollectorErrors } from '../errors.ts';
import type { Pipeline, SenderTable } from '../pipeline.ts';
import { formatBind, type BindTarget } from './binds.ts';

export interface StreamListenerOptions {
  readonly binds: readonly BindTarget[];
  readonly port: number;
  readonly pipeline: Pipeline;
  readonly senders: SenderTable;
  /** Shared between TCP and TLS so HEP_MAX_TCP_CONNECTIONS bounds both together. */
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  readonly maxPacketSize: number;
  readonly log: Logger;
}

type ServerFactory = (onSocket: (socket: net.Socket) => void) => net.Server;

export class StreamListener implements Component {
  readonly name: string;
  readonly #servers: net.Server[] = [];
  readonly #sockets = new Map<net.Socket, { reason: string }>();
  readonly #closing = new Once();
  readonly #log: Logger;
  #bound: string[] = [];
  #failure: Error | undefined;
  #stopped = false;

  constructor(
    readonly transport: Exclude<Transport, 'udp'>,
    protected readonly opts: StreamListenerOptions,
    private readonly factory: ServerFactory = (onSocket) => net.createServer({ noDelay: true }, onSocket),
  ) {
    this.name = `hep-${transport}`;
    this.#log = opts.log.child({ component: this.name });
  }

  get addresses(): readonly string[] {
    return this.#bound;
  }

  async start(): Promise<void> {
    for (const b of this.opts.binds) {
      const server = this.factory((socket) => this.#accept(socket));
      this.decorate(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new TollgateError(CollectorErrors.bindFailed,
          `HEP ${this.transport.toUpperCase()} cannot listen on ${formatBind(b.address, this.opts.port)}: ${err.message}`,
          { address: b.address, port: this.opts.port }, { cause: err })));
        // Not exclusive: under `npm start` every collector process (a cluster worker) accepts on the one listening
        // socket the supervisor holds. Outside a cluster the flag changes nothing.
        server.listen({ host: b.address, port: this.opts.port, ipv6Only: b.ipv6Only, exclusive: false }, () => resolve());
      });
      server.removeAllListeners('error');
      server.on('error', (err) => {
        this.#failure = new TollgateError(CollectorErrors.listenerFailed, `HEP ${this.transport} server failed: ${err.message}`, {}, { cause: err });
        this.#log.error({ err: this.#failure }, 'HEP stream server failed');
      });
      this.#servers.push(server);
      const a = server.address() as net.AddressInfo;
      this.#bound.push(formatBind(a.address, a.port));
      this.#log.info({ address: formatBind(a.address, a.port) }, `HEP ${this.transport.toUpperCase()} listening`);
    }
  }

  /** Hook for tls.ts to count handshake failures. */
  protected decorate(_server: net.Server): void {}

  #accept(socket: net.Socket): void {
    const { pipeline, senders } = this.opts;
    const stats = pipeline.stats;
    const transport = this.transport;
    if (this.#stopped) {
      stats.connectionClosed(transport, 'shutdown');
      socket.destroy();
      return;
    }
    if (stats.connections.tcp + stats.connections.tls >= this.opts.maxConnections) {
      stats.connectionClosed(transport, 'limit');
      socket.destroy();
      return;
    }
    const sender = socket.remoteAddress === undefined || socket.remotePort === undefined
      ? undefined
      : senders.make(socket.remoteAddress, socket.remotePort);
    if (sender === undefined || !sender.allowed) {
      stats.connectionClosed(transport, 'source_not_allowed');
      socket.destroy();
      return;
    }

    stats.connections[transport]++;
    const state = { reason: 'peer' };
    this.#sockets.set(socket, state);
    const framer = new HepStreamFramer({ maxPacketSize: this.opts.maxPacketSize });
    const framingFailed = (err: HepDecodeError): void => {
      stats.drop(`decode:${err.reason}`, sender.text);
      state.reason = `framing:${err.reason}`;
      this.#log.debug({ remote: sender.text, reason: err.reason }, 'HEP stream lost framing; connection closed');
      socket.destroy();
    };

    socket.setTimeout(this.opts.idleTimeoutMs);
    socket.on('timeout', () => {
      state.reason = 'idle';
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      const hr = process.hrtime.bigint();
      // Packets cut before a loss of sync in the same chunk are delivered; only the bytes after it are dropped.
      const { packets, error } = framer.push(chunk);
      for (let i = 0; i < packets.length; i++) pipeline.handle(packets[i]!, sender, hr, transport);
      if (error !== undefined) framingFailed(error);
    });
    socket.on('end', () => {
      const error = framer.end();
      if (error !== undefined) {
        framingFailed(error);
        return;
      }
      socket.end();
    });
    socket.on('error', (err) => {
      if (state.reason === 'peer') state.reason = 'error';
      this.#log.debug({ remote: sender.text, err }, 'HEP stream connection error');
    });
    socket.on('close', () => {
      stats.connections[transport]--;
      stats.connectionClosed(transport, state.reason);
      this.#sockets.delete(socket);
    });
  }

  /** Stops accepting, then closes every connection: what was already read has been handed to the sink. */
  close(): Promise<void> {
    return this.#closing.run(async () => {
      this.#stopped = true;
      const closed = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const [socket, state] of this.#sockets) {
        state.reason = 'shutdown';
        socket.destroy();
      }
      await Promise.all(closed);
      this.#servers.length = 0;
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#failure) return { state: 'down', detail: this.#failure.message };
    return this.#servers.length > 0 ? { state: 'ok', detail: this.#bound.join(', ') } : { state: 'down', detail: 'not listening' };
  }
}
