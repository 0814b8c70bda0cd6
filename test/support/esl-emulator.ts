/**
 * A FreeSWITCH event socket (mod_event_socket, inbound mode) for the rating tests: FreeSWITCH itself is not
 * installable here, so this is the one emulated peer. It speaks the wire exactly (greeting, auth, command/reply,
 * api/response, bgapi + BACKGROUND_JOB, event plain with URL-encoded values, Content-Length framing, blank lines
 * between commands skipped, filters, disconnect notice) and models the channels behind it: a call is created
 * parked (CHANNEL_PARK), obeys uuid_setvar / uuid_transfer / uuid_kill / sched_hangup / execute_on_answer /
 * sendmsg hangup, answers after a transfer back to the dialplan, and ends with CHANNEL_HANGUP_COMPLETE carrying the
 * billing variables. Event text is the real event text of `../shared/brief/esl-samples/prepaid-call.esl` with the
 * call's own values put in. `show channels as json` and `uuid_dump` answer for the live channels.
 *
 * Faults are real: `dropClients()` closes every client socket and `pause()` stops listening while the calls go on.
 * With `jsonCdrUrl`, every ended leg is POSTed like mod_json_cdr (retried until accepted, as FreeSWITCH does).
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { sampleEventBodies } from './esl-transcript.ts';

export interface CallScript {
  readonly account: string;
  readonly destination: string;
  /** `cgr_reqtype` channel variable; omitted when undefined. */
  readonly reqtype?: string;
  readonly tenant?: string;
  /** More channel variables set before the park. */
  readonly vars?: Readonly<Record<string, string>>;
  /** After the channel is transferred back to the dialplan, the callee answers this much later. Default 100 ms. */
  readonly answerAfterMs?: number;
  /** The caller hangs up this long after answer (unless the switch hung up first). Default: never (test ends it). */
  readonly talkMs?: number;
  /** `outbound` models a leg FreeSWITCH originated (a B leg): Call-Direction and the direction variable say so. */
  readonly direction?: 'inbound' | 'outbound';
  /** The caller gives up this long after the park if nothing moved it (default never). */
  readonly abandonAfterMs?: number;
}

export interface EmulatedChannel {
  readonly uuid: string;
  readonly script: CallScript;
  readonly vars: Map<string, string>;
  readonly createdUs: number;
  answeredUs: number;
  hangupUs: number;
  progressMediaUs: number;
  hangupCause: string | undefined;
  state: 'parked' | 'routing' | 'answered' | 'hungup';
  transfers: string[];
  readonly timers: Set<NodeJS.Timeout>;
}

export interface EmulatorOptions {
  readonly password?: string;
  readonly switchname?: string;
  readonly port?: number;
  /** Where ended legs are POSTed as mod_json_cdr JSON (with these headers). */
  readonly jsonCdrUrl?: string;
  readonly jsonCdrHeaders?: Readonly<Record<string, string>>;
  readonly heartbeatMs?: number;
}

interface ClientConn {
  readonly socket: net.Socket;
  authed: boolean;
  events: Set<string>;
  all: boolean;
  filters: [string, string][];
  readonly id: number;
}

const templates = sampleEventBodies();
/** Each template's headers, decoded once (the emulator must not be the slow side of a benchmark). */
const parsedTemplates = new Map([...templates].map(([name, body]) => [name, body.split('\n').flatMap((line): [string, string][] => {
  const colon = line.indexOf(': ');
  return colon > 0 ? [[line.slice(0, colon), decodeURIComponent(line.slice(colon + 2))]] : [];
})]));

const Q850: Record<string, number> = {
  NORMAL_CLEARING: 16, ALLOTTED_TIMEOUT: 602, MANAGER_REQUEST: 503, OUTGOING_CALL_BARRED: 52, CALL_REJECTED: 21,
  ORIGINATOR_CANCEL: 487, NO_ANSWER: 19, USER_BUSY: 17,
};

export class EslEmulator {
  readonly switchname: string;
  readonly channels = new Map<string, EmulatedChannel>();
  /** Every command a client sent (first line), in order, with the time and connection id. */
  readonly commands: { at: number; conn: number; line: string }[] = [];
  readonly jsonCdrPosts: { uuid: string; status: number }[] = [];
  #server: net.Server;
  #port = 0;
  #password: string;
  #clients = new Set<ClientConn>();
  #nextConn = 1;
  #seq = 1000;
  #opts: EmulatorOptions;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;
  #listeners: ((line: string, conn: number) => void)[] = [];

  constructor(opts: EmulatorOptions = {}) {
    this.#opts = opts;
    this.#password = opts.password ?? 'ClueCon';
    this.switchname = opts.switchname ?? 'fs1';
    this.#server = this.#newServer();
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Connections that passed auth. */
  get authenticatedClients(): number {
    return [...this.#clients].filter((c) => c.authed).length;
  }

  /**
   * Authenticated connections subscribed to `event`: they will be sent it. A client sends its filters and
   * subscriptions after auth, one round trip each, so an event raised when auth alone has passed can be missed.
   */
  subscribedClients(event: string): number {
    return [...this.#clients].filter((c) => c.authed && (c.all || c.events.has(event))).length;
  }

  async start(): Promise<this> {
    await this.#listen(this.#opts.port ?? 0);
    if (this.#opts.heartbeatMs) {
      this.#heartbeat = setInterval(() => this.#broadcast('HEARTBEAT', this.#heartbeatHeaders()), this.#opts.heartbeatMs);
    }
    return this;
  }

  /** Calls back on every command line a client sends (tests wait for a given command). */
  onCommand(fn: (line: string, conn: number) => void): void {
    this.#listeners.push(fn);
  }

  /** A new inbound call that parks (the dialplan's `park`): CHANNEL_PARK is sent to subscribers. */
  originate(script: CallScript): string {
    const uuid = randomUUID();
    const vars = new Map<string, string>([
      ['direction', script.direction ?? 'inbound'], ['uuid', uuid], ['sip_from_user', script.account], ['sip_req_user', script.destination],
      ['sip_to_user', script.destination], ['sip_call_id', `${uuid.slice(0, 12)}@192.0.2.20`], ['user_name', script.account],
      ['accountcode', script.account], ['current_application', 'park'],
    ]);
    if (script.reqtype !== undefined) vars.set('cgr_reqtype', script.reqtype);
    if (script.tenant !== undefined) vars.set('cgr_tenant', script.tenant);
    for (const [k, v] of Object.entries(script.vars ?? {})) vars.set(k, v);
    const ch: EmulatedChannel = {
      uuid, script, vars, createdUs: nowUs(), answeredUs: 0, hangupUs: 0, progressMediaUs: 0, hangupCause: undefined,
      state: 'parked', transfers: [], timers: new Set(),
    };
    this.channels.set(uuid, ch);
    this.#emitChannel('CHANNEL_PARK', ch);
    if (script.abandonAfterMs !== undefined) {
      this.#timer(ch, script.abandonAfterMs, () => {
        if (ch.state === 'parked') this.hangup(uuid, 'ORIGINATOR_CANCEL');
      });
    }
    return uuid;
  }

  /** The far end hangs up (or the caller); no-op on an ended channel. */
  hangup(uuid: string, causeName = 'NORMAL_CLEARING'): boolean {
    const cause = hangupCause(causeName);
    const ch = this.channels.get(uuid);
    if (!ch || ch.state === 'hungup') return false;
    for (const t of ch.timers) clearTimeout(t);
    ch.timers.clear();
    ch.state = 'hungup';
    ch.hangupUs = nowUs();
    ch.hangupCause = cause;
    this.#emitChannel('CHANNEL_HANGUP_COMPLETE', ch);
    void this.#postJsonCdr(ch);
    return true;
  }

  /** Writes raw bytes to every authenticated client (bad-input tests: garbage, truncated or unknown frames). */
  injectRaw(bytes: string | Buffer): void {
    for (const c of this.#clients) if (c.authed) c.socket.write(bytes);
  }

  /** Closes every client connection (the switch keeps its calls). */
  dropClients(): void {
    for (const c of this.#clients) c.socket.destroy();
    this.#clients.clear();
  }

  /** Stops accepting connections and drops the current ones, for `ms`; calls go on meanwhile. */
  async pause(ms: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropClients();
    await closed;
    await new Promise((r) => setTimeout(r, ms));
    if (!this.#closed) {
      this.#server = this.#newServer();
      await this.#listen(this.#port);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const ch of this.channels.values()) for (const t of ch.timers) clearTimeout(t);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropClients();
    await closed;
  }

  #newServer(): net.Server {
    return net.createServer((socket) => this.#accept(socket));
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const conn: ClientConn = { socket, authed: false, events: new Set(), all: false, filters: [], id: this.#nextConn++ };
    this.#clients.add(conn);
    socket.on('close', () => this.#clients.delete(conn));
    socket.on('error', () => undefined);
    socket.write('Content-Type: auth/request\n\n');
    const reader = new CommandReader();
    socket.on('data', (chunk: Buffer) => {
      for (const cmd of reader.push(chunk)) this.#command(conn, cmd);
    });
  }

  #command(conn: ClientConn, cmd: ClientCommand): void {
    this.commands.push({ at: Date.now(), conn: conn.id, line: cmd.line });
    for (const fn of this.#listeners) fn(cmd.line, conn.id);
    const [verb = '', ...rest] = cmd.line.split(' ');
    const arg = rest.join(' ');
    const reply = (text: string, extra = ''): void => {
      conn.socket.write(`Content-Type: command/reply\nReply-Text: ${text}\n${extra}\n`);
    };
    if (!conn.authed) {
      if (verb === 'auth') {
        if (arg === this.#password) {
          conn.authed = true;
          reply('+OK accepted');
        } else {
          reply('-ERR invalid');
          this.#disconnect(conn);
        }
      } else if (verb === 'exit') {
        reply('+OK bye');
        this.#disconnect(conn);
      } else {
        reply('-ERR command not found');
      }
      return;
    }
    switch (verb) {
      case 'event': {
        const [format, ...names] = rest;
        if (format !== 'plain') {
          reply(`-ERR this emulator speaks event plain only, not ${format}`);
          return;
        }
        for (const n of names) {
          if (n === 'ALL' || n === 'all') conn.all = true;
          else conn.events.add(n);
        }
        reply('+OK event listener enabled plain');
        return;
      }
      case 'filter': {
        const [h, ...v] = rest;
        if (!h || v.length === 0) {
          reply('-ERR invalid syntax');
          return;
        }
        conn.filters.push([h, v.join(' ')]);
        reply(`+OK filter added. [${h}]=[${v.join(' ')}]`);
        return;
      }
      case 'noevents':
        conn.events.clear();
        conn.all = false;
        reply('+OK no longer listening for events');
        return;
      case 'nixevent':
        for (const n of rest) conn.events.delete(n);
        reply('+OK events nixed');
        return;
      case 'linger':
      case 'log':
      case 'nolog':
      case 'myevents':
      case 'divert_events':
        reply('+OK');
        return;
      case 'api': {
        const body = this.#api(arg);
        conn.socket.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`);
        return;
      }
      case 'bgapi': {
        const job = cmd.headers['Job-UUID'] ?? randomUUID();
        reply(`+OK Job-UUID: ${job}`, `Job-UUID: ${job}\n`);
        setImmediate(() => {
          const result = this.#api(arg);
          const [jc = '', ...ja] = arg.split(' ');
          this.#broadcast('BACKGROUND_JOB', this.#jobHeaders(job, jc, ja.join(' ')), result);
        });
        return;
      }
      case 'sendmsg': {
        const ch = this.channels.get(arg.trim());
        if (!ch || ch.state === 'hungup') {
          reply('-ERR invalid session id');
          return;
        }
        const what = cmd.headers['call-command'];
        if (what === 'hangup') {
          reply('+OK');
          this.hangup(ch.uuid, cmd.headers['hangup-cause'] ?? 'NORMAL_CLEARING');
        } else if (what === 'execute') {
          reply('+OK');
          this.#execute(ch, cmd.headers['execute-app-name'] ?? '', cmd.headers['execute-app-arg'] ?? '');
        } else {
          reply('-ERR unsupported call-command');
        }
        return;
      }
      case 'exit':
        reply('+OK bye');
        this.#disconnect(conn);
        return;
      default:
        reply('-ERR command not found');
    }
  }

  #disconnect(conn: ClientConn): void {
    conn.socket.write('Content-Type: text/disconnect-notice\nContent-Length: 14\n\nDisconnected.\n');
    conn.socket.end();
    this.#clients.delete(conn);
  }

  /** The FreeSWITCH API commands a rating agent uses. Results end with a newline, as FreeSWITCH's do. */
  #api(line: string): string {
    const [cmd = '', ...args] = line.trim().split(/\s+/);
    const need = (uuid: string | undefined): EmulatedChannel | undefined => {
      const ch = uuid === undefined ? undefined : this.channels.get(uuid);
      return ch && ch.state !== 'hungup' ? ch : undefined;
    };
    switch (cmd) {
      case 'uuid_setvar': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        const name = args[1];
        if (!name) return '-USAGE: <uuid> <var> [value]\n';
        const value = args.slice(2).join(' ');
        if (value === '') ch.vars.delete(name);
        else ch.vars.set(name, value);
        return '+OK\n';
      }
      case 'uuid_setvar_multi': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        for (const pair of args.slice(1).join(' ').split(';')) {
          const eq = pair.indexOf('=');
          if (eq > 0) ch.vars.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        return '+OK\n';
      }
      case 'uuid_getvar': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        return `${ch.vars.get(args[1] ?? '') ?? '_undef_'}\n`;
      }
      case 'uuid_transfer': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        const rest = args.slice(1).filter((a) => a !== '-bleg' && a !== '-both');
        if (rest.length === 0) return '-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n';
        ch.transfers.push(rest.join(' '));
        if (ch.state === 'parked') {
          ch.state = 'routing';
          // The dialplan bridges; the callee answers a moment later.
          this.#timer(ch, ch.script.answerAfterMs ?? 100, () => this.#answer(ch));
        }
        return '+OK\n';
      }
      case 'uuid_kill': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        this.hangup(ch.uuid, args[1] ?? 'NORMAL_CLEARING');
        return '+OK\n';
      }
      case 'sched_hangup': {
        // sched_hangup [+]<time> <uuid> [<cause>]
        const ch = need(args[1]);
        if (!ch) return '-ERR No such channel!\n';
        const when = args[0] ?? '';
        const secs = Number(when.replace(/^\+/, ''));
        if (!Number.isFinite(secs)) return '-USAGE: [+]<time> <uuid> [<cause>]\n';
        const delay = when.startsWith('+') ? secs * 1000 : secs * 1000 - Date.now();
        this.#timer(ch, Math.max(0, delay), () => this.hangup(ch.uuid, (args[2] ?? 'ALLOTTED_TIMEOUT').toUpperCase()));
        return '+OK\n';
      }
      case 'uuid_dump': {
        const ch = need(args[0]);
        if (!ch) return '-ERR No such channel!\n';
        const headers = this.#channelHeaders('CHANNEL_DATA', ch);
        if (args[1] === 'json') return `${JSON.stringify(Object.fromEntries(headers))}\n`;
        return `${headers.map(([k, v]) => `${k}: ${encodeURIComponent(v)}`).join('\n')}\n`;
      }
      case 'show': {
        if (args[0] !== 'channels') return `-ERR show ${args.join(' ')} is not emulated\n`;
        const live = [...this.channels.values()].filter((c) => c.state !== 'hungup');
        const rows = live.map((c) => ({
          uuid: c.uuid, direction: 'inbound', created: new Date(c.createdUs / 1000).toISOString().replace('T', ' ').slice(0, 19),
          created_epoch: String(Math.floor(c.createdUs / 1e6)), name: `sofia/internal/${c.script.account}@10.0.0.5`,
          state: c.state === 'parked' ? 'CS_PARK' : 'CS_EXECUTE', cid_name: c.script.account, cid_num: c.script.account,
          ip_addr: '192.0.2.20', dest: c.script.destination, application: c.state === 'parked' ? 'park' : 'bridge',
          application_data: '', dialplan: 'XML', context: 'default', read_codec: 'PCMA', read_rate: '8000',
          write_codec: 'PCMA', write_rate: '8000', secure: '', hostname: this.switchname, presence_id: '',
          presence_data: '', accountcode: c.script.account, callstate: c.state === 'answered' ? 'ACTIVE' : 'RINGING',
          callee_name: '', callee_num: '', callee_direction: '', call_uuid: '', sent_callee_name: '', sent_callee_num: '',
          initial_cid_name: c.script.account, initial_cid_num: c.script.account, initial_ip_addr: '192.0.2.20',
          initial_dest: c.script.destination, initial_dialplan: 'XML', initial_context: 'default',
        }));
        if (args.includes('json')) return `${JSON.stringify(rows.length === 0 ? { row_count: 0 } : { row_count: rows.length, rows })}\n`;
        return `uuid,direction,created,name,state\n${rows.map((r) => `${r.uuid},${r.direction},${r.created},${r.name},${r.state}`).join('\n')}\n\n${rows.length} total.\n`;
      }
      case 'hupall': {
        let n = 0;
        for (const ch of this.channels.values()) if (this.hangup(ch.uuid, args[0] ?? 'MANAGER_REQUEST')) n++;
        return `+OK hangup all channels (${n})\n`;
      }
      case 'status':
        return `UP 0 years, 0 days, 0 hours, 0 minutes, 1 second\nFreeSWITCH (Version 1.10.12 emulated) is ready\n${this.channels.size} session(s) since startup\n`;
      case 'cgr_notify':
        return '+OK\n';
      default:
        return `-ERR ${cmd} Command not found!\n`;
    }
  }

  #execute(ch: EmulatedChannel, app: string, arg: string): void {
    if (app === 'hangup') this.hangup(ch.uuid, arg || 'NORMAL_CLEARING');
    else if (app === 'sched_hangup') {
      const [when = '', cause] = arg.split(' ');
      const secs = Number(when.replace(/^\+/, ''));
      this.#timer(ch, secs * 1000, () => this.hangup(ch.uuid, (cause ?? 'ALLOTTED_TIMEOUT').toUpperCase()));
    } else if (app === 'transfer') {
      ch.transfers.push(arg);
      if (ch.state === 'parked') {
        ch.state = 'routing';
        this.#timer(ch, ch.script.answerAfterMs ?? 100, () => this.#answer(ch));
      }
    }
  }

  #answer(ch: EmulatedChannel): void {
    if (ch.state !== 'routing') return;
    ch.state = 'answered';
    ch.progressMediaUs = nowUs();
    ch.answeredUs = ch.progressMediaUs;
    // On answer FreeSWITCH runs the app of every variable whose name starts with execute_on_answer
    // (switch_channel_execute_on), e.g. "sched_hangup +10 alloted_timeout".
    for (const [name, onAnswer] of ch.vars) {
      if (!name.toLowerCase().startsWith('execute_on_answer') || !onAnswer) continue;
      const sp = onAnswer.indexOf(' ');
      this.#execute(ch, sp === -1 ? onAnswer : onAnswer.slice(0, sp), sp === -1 ? '' : onAnswer.slice(sp + 1));
    }
    this.#emitChannel('CHANNEL_ANSWER', ch);
    if (ch.script.talkMs !== undefined) this.#timer(ch, ch.script.talkMs, () => this.hangup(ch.uuid, 'NORMAL_CLEARING'));
  }

  #timer(ch: EmulatedChannel, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      ch.timers.delete(t);
      fn();
    }, ms);
    ch.timers.add(t);
  }

  #emitChannel(name: string, ch: EmulatedChannel): void {
    this.#broadcast(name, this.#channelHeaders(name, ch));
  }

  /** The sample's event text for this event name, with this channel's values put in. */
  #channelHeaders(name: string, ch: EmulatedChannel): [string, string][] {
    const template = parsedTemplates.get(name === 'CHANNEL_DATA' ? 'CHANNEL_ANSWER' : name) ?? parsedTemplates.get('CHANNEL_PARK')!;
    const out: [string, string][] = [];
    const s = ch.script;
    const callState = ch.state === 'hungup' ? 'HANGUP' : ch.state === 'answered' ? 'ACTIVE' : 'RINGING';
    const overrides: Record<string, string> = {
      'Event-Name': name === 'CHANNEL_DATA' ? 'CHANNEL_DATA' : name,
      'Unique-ID': ch.uuid, 'Caller-Unique-ID': ch.uuid, 'Channel-Call-State': callState,
      'Call-Direction': s.direction ?? 'inbound', 'Presence-Call-Direction': s.direction ?? 'inbound',
      'Caller-Direction': s.direction ?? 'inbound', 'Caller-Logical-Direction': s.direction ?? 'inbound',
      'Answer-State': ch.state === 'hungup' ? 'hangup' : ch.state === 'answered' ? 'answered' : 'ringing',
      'Channel-Name': `sofia/internal/${s.account}@10.0.0.5`, 'Caller-Channel-Name': `sofia/internal/${s.account}@10.0.0.5`,
      'Caller-Username': s.account, 'Caller-Caller-ID-Name': s.account, 'Caller-Caller-ID-Number': s.account,
      'Caller-Orig-Caller-ID-Name': s.account, 'Caller-Orig-Caller-ID-Number': s.account, 'Caller-ANI': s.account,
      'Caller-Destination-Number': s.destination, 'FreeSWITCH-Switchname': this.switchname,
      'FreeSWITCH-Hostname': `${this.switchname}.example.net`,
      'Caller-Profile-Created-Time': String(ch.createdUs), 'Caller-Channel-Created-Time': String(ch.createdUs),
      'Caller-Channel-Answered-Time': String(ch.answeredUs), 'Caller-Channel-Progress-Media-Time': String(ch.progressMediaUs),
      'Caller-Channel-Hangup-Time': String(ch.hangupUs),
    };
    if (ch.hangupCause) overrides['Hangup-Cause'] = ch.hangupCause;
    for (const [k, v] of Object.entries(this.#eventDate())) overrides[k] = v;
    for (const [k, v] of template) {
      if (k.startsWith('variable_') || k === 'Content-Length') continue;
      if (k === 'Hangup-Cause' && !ch.hangupCause) continue;
      out.push([k, overrides[k] ?? v]);
    }
    if (ch.hangupCause && !out.some(([k]) => k === 'Hangup-Cause')) out.push(['Hangup-Cause', ch.hangupCause]);
    for (const [k, v] of ch.vars) out.push([`variable_${k}`, v]);
    if (name === 'CHANNEL_HANGUP_COMPLETE') {
      for (const [k, v] of Object.entries(billingVariables(ch))) out.push([`variable_${k}`, v]);
    }
    return out;
  }

  #eventDate(): Record<string, string> {
    const now = new Date();
    return {
      'Event-Date-Local': now.toISOString().replace('T', ' ').slice(0, 19),
      'Event-Date-GMT': now.toUTCString(),
      'Event-Date-Timestamp': String(nowUs()),
      'Event-Sequence': String(++this.#seq),
      'Core-UUID': '0b4a2f9e-7d1c-4b8e-9f6a-3c2d1e0f9a8b',
      'FreeSWITCH-Switchname': this.switchname,
    };
  }

  #heartbeatHeaders(): [string, string][] {
    const t = templates.get('HEARTBEAT')!;
    const o = this.#eventDate();
    return t.split('\n').filter((l) => l.includes(': ') && !l.startsWith('Content-Length')).map((l) => {
      const k = l.slice(0, l.indexOf(': '));
      return [k, o[k] ?? decodeURIComponent(l.slice(k.length + 2))];
    });
  }

  #jobHeaders(job: string, command: string, arg: string): [string, string][] {
    const o = this.#eventDate();
    return [['Event-Name', 'BACKGROUND_JOB'], ['Core-UUID', o['Core-UUID']!], ['FreeSWITCH-Hostname', `${this.switchname}.example.net`],
      ['FreeSWITCH-Switchname', this.switchname], ['FreeSWITCH-IPv4', '10.0.0.5'], ['Event-Date-Local', o['Event-Date-Local']!],
      ['Event-Date-GMT', o['Event-Date-GMT']!], ['Event-Date-Timestamp', o['Event-Date-Timestamp']!],
      ['Event-Calling-File', 'mod_event_socket.c'], ['Event-Calling-Function', 'api_exec'], ['Event-Calling-Line-Number', '1557'],
      ['Event-Sequence', o['Event-Sequence']!], ['Job-UUID', job], ['Job-Command', command], ['Job-Command-Arg', arg]];
  }

  /** Sends an event to every subscribed, authenticated client whose filters pass it. */
  #broadcast(name: string, headers: [string, string][], nestedBody?: string): void {
    let body = headers.map(([k, v]) => `${k}: ${encodeURIComponent(v)}\n`).join('');
    if (nestedBody !== undefined) body += `Content-Length: ${Buffer.byteLength(nestedBody)}\n\n${nestedBody}`;
    else body += '\n';
    const frame = `Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-plain\n\n${body}`;
    const lookup = new Map(headers);
    for (const c of this.#clients) {
      if (!c.authed || !(c.all || c.events.has(name))) continue;
      // FreeSWITCH: with filters set, an event passes when any filter matches it.
      if (c.filters.length > 0 && !c.filters.some(([h, v]) => (h === 'Event-Name' ? name : lookup.get(h)) === v)) continue;
      c.socket.write(frame);
    }
  }

  async #postJsonCdr(ch: EmulatedChannel): Promise<void> {
    const url = this.#opts.jsonCdrUrl;
    if (!url) return;
    const variables: Record<string, string> = {};
    for (const [k, v] of ch.vars) variables[k] = encodeURIComponent(v);
    for (const [k, v] of Object.entries(billingVariables(ch))) variables[k] = encodeURIComponent(v);
    const doc = {
      'core-uuid': '0b4a2f9e-7d1c-4b8e-9f6a-3c2d1e0f9a8b', switchname: this.switchname,
      channel_data: { state: 'CS_REPORTING', direction: 'inbound', state_number: '11', flags: '', caps: '' },
      variables,
      callflow: [{ dialplan: 'XML', profile_index: '1', caller_profile: { username: ch.script.account, caller_id_number: ch.script.account,
        destination_number: ch.script.destination, uuid: ch.uuid, context: 'default' },
      times: { created_time: String(ch.createdUs), answered_time: String(ch.answeredUs), hangup_time: String(ch.hangupUs) } }],
    };
    // mod_json_cdr retries a failed post (delay, retries) and then spools to disk; here: retry until accepted.
    for (let attempt = 0; attempt < 100 && !this.#closed; attempt++) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...this.#opts.jsonCdrHeaders }, body: JSON.stringify(doc) });
        this.jsonCdrPosts.push({ uuid: ch.uuid, status: res.status });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        this.jsonCdrPosts.push({ uuid: ch.uuid, status: 0 });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function billingVariables(ch: EmulatedChannel): Record<string, string> {
  const sec = (us: number) => String(Math.floor(us / 1e6));
  const billUs = ch.answeredUs > 0 ? ch.hangupUs - ch.answeredUs : 0;
  const cause = ch.hangupCause ?? 'NORMAL_CLEARING';
  return {
    start_epoch: sec(ch.createdUs), answer_epoch: sec(ch.answeredUs), end_epoch: sec(ch.hangupUs),
    start_uepoch: String(ch.createdUs), answer_uepoch: String(ch.answeredUs), end_uepoch: String(ch.hangupUs),
    duration: String(Math.floor((ch.hangupUs - ch.createdUs) / 1e6)), mduration: String(Math.floor((ch.hangupUs - ch.createdUs) / 1000)),
    billsec: String(Math.floor(billUs / 1e6)), billmsec: String(Math.floor(billUs / 1000)),
    progress_mediamsec: ch.progressMediaUs > 0 ? String(Math.floor((ch.progressMediaUs - ch.createdUs) / 1000)) : '0',
    answersec: ch.answeredUs > 0 ? sec(ch.answeredUs - ch.createdUs) : '0',
    hangup_cause: cause, hangup_cause_q850: String(Q850[cause] ?? 16),
    sip_hangup_disposition: cause === 'NORMAL_CLEARING' ? 'recv_bye' : 'send_bye',
  };
}

/**
 * FreeSWITCH matches cause names case-insensitively; CGRateS' agent writes `alloted_timeout`, which the switch
 * logs as ALLOTTED_TIMEOUT (cgrates.md section 8), so that spelling is taken as the same cause.
 */
function hangupCause(name: string): string {
  const upper = name.toUpperCase();
  return upper === 'ALLOTED_TIMEOUT' ? 'ALLOTTED_TIMEOUT' : upper;
}

function nowUs(): number {
  return Date.now() * 1000;
}

interface ClientCommand {
  readonly line: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/**
 * What a client sends: a command line, optional `Name: value` lines (sendmsg, bgapi Job-UUID), an empty line, and
 * a body when `content-length` is given. Blank lines between commands are skipped, as mod_event_socket does.
 */
class CommandReader {
  #buf = '';
  #needBody: { cmd: ClientCommand; length: number } | undefined;

  push(chunk: Buffer): ClientCommand[] {
    this.#buf += chunk.toString('utf8');
    const out: ClientCommand[] = [];
    for (;;) {
      if (this.#needBody) {
        if (Buffer.byteLength(this.#buf) < this.#needBody.length) break;
        const bytes = Buffer.from(this.#buf);
        out.push({ ...this.#needBody.cmd, body: bytes.subarray(0, this.#needBody.length).toString('utf8') });
        this.#buf = bytes.subarray(this.#needBody.length).toString('utf8');
        this.#needBody = undefined;
        continue;
      }
      this.#buf = this.#buf.replace(/^(\r?\n)+/, '');
      const end = this.#buf.search(/\r?\n\r?\n/);
      if (end === -1) break;
      const block = this.#buf.slice(0, end);
      this.#buf = this.#buf.slice(end).replace(/^\r?\n\r?\n/, '');
      const [line = '', ...rest] = block.split(/\r?\n/);
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const c = h.indexOf(':');
        if (c > 0) headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
      }
      const cmd = { line: line.trim(), headers };
      const cl = headers['content-length'] ?? headers['Content-Length'];
      if (cl !== undefined && Number(cl) > 0) this.#needBody = { cmd, length: Number(cl) };
      else out.push(cmd);
    }
    return out;
  }
}

export async function startEslEmulator(opts: EmulatorOptions = {}): Promise<EslEmulator> {
  return new EslEmulator(opts).start();
}
