/**
 * An inbound event-socket client for one FreeSWITCH node (the frames → events → commands layer). It connects,
 * authenticates, subscribes and then reads eagerly: every chunk is parsed as it arrives and events are handed to
 * the listener synchronously, which queues them (FreeSWITCH drops a client that falls ~500 events behind, so the
 * socket is never left unread while work is pending).
 *
 * The connection is kept forever: a refused connect, a failed auth, a closed or silent socket all lead to a retry
 * with exponential backoff (capped, jittered). Each node has its own client, so one switch being away never touches
 * the others, and nothing here ever ends the process.
 *
 * Commands are written at once (pipelined) and answered in order: `api` by an `api/response`, everything else by a
 * `command/reply`; so one FIFO of pending replies is enough. A command that times out keeps its FIFO slot (the
 * late reply is discarded), or the replies after it would be matched to the wrong commands. `bgapi` sends its own
 * Job-UUID so the BACKGROUND_JOB event can never arrive before we know what to wait for.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { Logger } from 'pino';
import { TollgateError } from '../../shared/errors.ts';
import type { Component, ComponentHealth } from '../../shared/lifecycle.ts';
import { RatingErrors } from '../errors.ts';
import { classifyFrame, type EslEvent } from './events.ts';
import { EslFrameParser } from './frames.ts';

export interface EslEndpoint {
  /** Node name used in CDRs, metrics and as CGRateS OriginHost (the `name=` of FREESWITCH_ESL, else host:port). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface EslClientOptions {
  readonly endpoint: EslEndpoint;
  readonly password: string;
  readonly events: readonly string[];
  /** `filter <header> <value>` lines sent after subscribing (any positive filter passes an event). */
  readonly filters?: readonly (readonly [string, string])[];
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** No byte for this long (HEARTBEAT comes every 20 s by default) → the socket is presumed dead and reopened. */
  readonly idleTimeoutMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly log: Logger;
}

export interface EslClientListener {
  onEvent(event: EslEvent, node: string): void;
  /** After auth and subscription; `reconnect` is false only for the first connection of this client. */
  onConnected(node: string, reconnect: boolean): void;
  onDisconnected(node: string, reason: string): void;
  /** A frame that could not be parsed or understood (counted by the caller). */
  onProtocolError?(node: string, err: TollgateError): void;
}

type Pending = {
  readonly kind: 'api' | 'command';
  readonly command: string;
  resolve: (value: { reply: string; headers: Readonly<Record<string, string>> }) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
  /** Timed out: the reply still comes and must be consumed, but nobody waits for it. */
  abandoned: boolean;
};

export type EslState = 'connecting' | 'authenticating' | 'connected' | 'backoff' | 'closed';

export class EslClient implements Component {
  readonly name: string;
  readonly #opts: EslClientOptions;
  readonly #listener: EslClientListener;
  #socket: net.Socket | undefined;
  #state: EslState = 'backoff';
  #pending: Pending[] = [];
  #jobs = new Map<string, { resolve: (body: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  #closed = false;
  #everConnected = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastError = '';
  #connectedSince = 0;
  /** Counters read by the service's metrics. */
  readonly stats = { connects: 0, disconnects: 0, events: 0, protocolErrors: 0, bytes: 0 };

  constructor(opts: EslClientOptions, listener: EslClientListener) {
    this.#opts = opts;
    this.#listener = listener;
    this.name = `esl:${opts.endpoint.name}`;
  }

  get node(): string {
    return this.#opts.endpoint.name;
  }

  get state(): EslState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Never fails: a switch that is away is retried in the background. */
  async start(): Promise<void> {
    this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const s = this.#socket;
    if (s && this.#state === 'connected') {
      // A polite `exit` lets FreeSWITCH log a clean goodbye; the socket is ended regardless.
      s.write('exit\n\n');
    }
    this.#teardown('client closed');
    this.#state = 'closed';
  }

  async destroy(): Promise<void> {
    await this.close();
  }

  health(): ComponentHealth {
    if (this.#state === 'connected') return { state: 'ok', detail: `connected to ${this.#opts.endpoint.host}:${this.#opts.endpoint.port}` };
    if (this.#state === 'closed') return { state: 'down', detail: 'closed' };
    // One switch away degrades the service; it does not stop the others.
    return { state: 'degraded', detail: `${this.#state}${this.#lastError ? `: ${this.#lastError}` : ''}` };
  }

  /** `api <cmd>` → the response body (`+OK ...` or `-ERR ...`, as FreeSWITCH wrote it). */
  async api(command: string, timeoutMs = this.#opts.commandTimeoutMs): Promise<string> {
    const r = await this.#send('api', `api ${command}\n\n`, command, timeoutMs);
    return r.reply;
  }

  /** `bgapi <cmd>` → the BACKGROUND_JOB body. */
  async bgapi(command: string, timeoutMs = this.#opts.commandTimeoutMs): Promise<string> {
    const jobId = randomUUID();
    const result = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#jobs.delete(jobId);
        reject(new TollgateError(RatingErrors.eslTimeout, `bgapi ${command}: no BACKGROUND_JOB within ${timeoutMs} ms`, { node: this.node }));
      }, timeoutMs);
      this.#jobs.set(jobId, { resolve, reject, timer });
    });
    try {
      const ack = await this.#send('command', `bgapi ${command}\nJob-UUID: ${jobId}\n\n`, command, timeoutMs);
      if (!ack.reply.startsWith('+OK')) throw new TollgateError(RatingErrors.eslCommandFailed, `bgapi ${command}: ${ack.reply}`, { node: this.node });
    } catch (err) {
      const job = this.#jobs.get(jobId);
      if (job) {
        clearTimeout(job.timer);
        this.#jobs.delete(jobId);
      }
      throw err;
    }
    return result;
  }

  /** `sendmsg <uuid>` with `call-command` etc. → the command/reply text. */
  async sendmsg(uuid: string, headers: Readonly<Record<string, string>>): Promise<string> {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\n`).join('');
    const r = await this.#send('command', `sendmsg ${uuid}\n${lines}\n`, `sendmsg ${uuid} ${headers['call-command'] ?? ''}`, this.#opts.commandTimeoutMs);
    return r.reply;
  }

  #send(kind: 'api' | 'command', wire: string, command: string, timeoutMs: number): Promise<{ reply: string; headers: Readonly<Record<string, string>> }> {
    const socket = this.#socket;
    if (!socket || this.#state !== 'connected') {
      return Promise.reject(new TollgateError(RatingErrors.eslDisconnected,
        `${command.split(' ')[0]} to ${this.node}: not connected (${this.#state})`, { node: this.node, command }));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { kind, command, resolve, reject, timer: undefined, abandoned: false };
      p.timer = setTimeout(() => {
        p.abandoned = true;
        reject(new TollgateError(RatingErrors.eslTimeout, `${command} on ${this.node}: no reply within ${timeoutMs} ms`, { node: this.node, command }));
      }, timeoutMs);
      this.#pending.push(p);
      socket.write(wire);
    });
  }

  #connect(): void {
    if (this.#closed) return;
    this.#state = 'connecting';
    const { host, port } = this.#opts.endpoint;
    const socket = net.createConnection({ host, port, noDelay: true });
    this.#socket = socket;
    const parser = new EslFrameParser();
    let authSent = false;
    const connectTimer = setTimeout(() => socket.destroy(new Error(`no connection within ${this.#opts.connectTimeoutMs} ms`)), this.#opts.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      this.#state = 'authenticating';
      this.#armIdle();
    });
    socket.on('data', (chunk: Buffer) => {
      this.stats.bytes += chunk.length;
      this.#armIdle();
      let frames;
      try {
        frames = parser.push(chunk);
      } catch (err) {
        this.#protocolError(err as TollgateError);
        socket.destroy(err as Error);
        return;
      }
      for (const frame of frames) {
        let msg;
        try {
          msg = classifyFrame(frame);
        } catch (err) {
          // One bad event body does not desynchronize the stream (its length was right): count it and go on.
          this.#protocolError(err as TollgateError);
          continue;
        }
        switch (msg.kind) {
          case 'auth-request':
            if (!authSent) {
              authSent = true;
              socket.write(`auth ${this.#opts.password}\n\n`);
            }
            break;
          case 'command-reply':
            if (this.#state === 'authenticating') {
              this.#onHandshakeReply(socket, msg.reply);
            } else {
              this.#settle(msg.reply, msg.headers, 'command');
            }
            break;
          case 'api-response':
            this.#settle(msg.body, {}, 'api');
            break;
          case 'event':
            this.stats.events++;
            if (msg.event.name === 'BACKGROUND_JOB') this.#onJob(msg.event);
            this.#listener.onEvent(msg.event, this.node);
            break;
          case 'disconnect-notice':
            this.#lastError ||= 'server sent a disconnect notice';
            break;
          case 'other':
            this.#opts.log.debug({ node: this.node, contentType: msg.contentType }, 'ignored event-socket frame');
            break;
        }
      }
    });
    socket.on('error', (err) => {
      this.#lastError = err.message;
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.#socket !== socket) return;
      this.#teardown(this.#lastError || 'connection closed');
      this.#scheduleRetry();
    });
  }

  /** The handshake: the auth reply, then one reply per subscription line. */
  #handshakeStep = 0;
  #onHandshakeReply(socket: net.Socket, reply: string): void {
    const steps = this.#handshakeLines();
    if (this.#handshakeStep === 0) {
      if (!reply.startsWith('+OK')) {
        this.#lastError = `auth refused (${reply || 'no reply text'}); check FREESWITCH_ESL_PASSWORD`;
        this.#opts.log.error({ node: this.node, reply }, 'FreeSWITCH refused the event-socket password');
        socket.destroy();
        return;
      }
    } else if (!reply.startsWith('+OK')) {
      this.#lastError = `subscription "${steps[this.#handshakeStep - 1]}" refused: ${reply}`;
      this.#opts.log.error({ node: this.node, reply }, 'event subscription refused');
      socket.destroy();
      return;
    }
    if (this.#handshakeStep < steps.length) {
      socket.write(`${steps[this.#handshakeStep]}\n\n`);
      this.#handshakeStep++;
      return;
    }
    this.#handshakeStep = 0;
    this.#state = 'connected';
    this.#connectedSince = Date.now();
    this.#attempt = 0;
    this.#lastError = '';
    this.stats.connects++;
    const reconnect = this.#everConnected;
    this.#everConnected = true;
    this.#opts.log.info({ node: this.node, reconnect }, 'event socket connected');
    this.#listener.onConnected(this.node, reconnect);
  }

  #handshakeLines(): string[] {
    return [
      `event plain ${this.#opts.events.join(' ')}`,
      ...(this.#opts.filters ?? []).map(([h, v]) => `filter ${h} ${v}`),
    ];
  }

  #settle(reply: string, headers: Readonly<Record<string, string>>, kind: 'api' | 'command'): void {
    const p = this.#pending.shift();
    if (!p) {
      this.#opts.log.warn({ node: this.node, kind, reply: reply.slice(0, 80) }, 'reply without a pending command');
      return;
    }
    clearTimeout(p.timer);
    if (p.kind !== kind) {
      this.#opts.log.warn({ node: this.node, expected: p.kind, got: kind, command: p.command }, 'reply of another kind than the command');
    }
    if (!p.abandoned) p.resolve({ reply, headers });
  }

  #onJob(event: EslEvent): void {
    const id = event.headers['Job-UUID'];
    const job = id === undefined ? undefined : this.#jobs.get(id);
    if (!job || id === undefined) return;
    clearTimeout(job.timer);
    this.#jobs.delete(id);
    job.resolve(event.body ?? '');
  }

  #protocolError(err: TollgateError): void {
    this.stats.protocolErrors++;
    this.#opts.log.warn({ node: this.node, err: { code: err.code, message: err.message } }, 'event-socket protocol error');
    this.#listener.onProtocolError?.(this.node, err);
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    const s = this.#socket;
    this.#idleTimer = setTimeout(() => {
      this.#lastError = `nothing received for ${this.#opts.idleTimeoutMs} ms`;
      s?.destroy();
    }, this.#opts.idleTimeoutMs);
  }

  #teardown(reason: string): void {
    clearTimeout(this.#idleTimer);
    const wasConnected = this.#state === 'connected';
    const socket = this.#socket;
    this.#socket = undefined;
    this.#handshakeStep = 0;
    socket?.destroy();
    const err = new TollgateError(RatingErrors.eslDisconnected, `event socket to ${this.node} closed: ${reason}`, { node: this.node });
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      if (!p.abandoned) p.reject(err);
    }
    for (const [id, job] of this.#jobs) {
      clearTimeout(job.timer);
      job.reject(err);
      this.#jobs.delete(id);
    }
    if (wasConnected) {
      this.stats.disconnects++;
      this.#opts.log.warn({ node: this.node, reason, upForMs: Date.now() - this.#connectedSince }, 'event socket lost');
      this.#listener.onDisconnected(this.node, reason);
    }
    if (!this.#closed) this.#state = 'backoff';
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    const base = Math.min(this.#opts.backoffMaxMs, this.#opts.backoffInitialMs * 2 ** this.#attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.#attempt = Math.min(this.#attempt + 1, 30);
    if (this.#attempt <= 3 || this.#attempt % 10 === 0) {
      this.#opts.log.info({ node: this.node, attempt: this.#attempt, delayMs: delay, reason: this.#lastError }, 'event socket: retrying');
    }
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }
}
