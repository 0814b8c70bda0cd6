/**
 * What every listener does with a packet: intake decides, the sink takes accepted records, stats count both. The
 * listeners own sockets and framing; this owns nothing but the decision path, so all transports count alike.
 */
import type { CidrList } from './cidr.ts';
import { senderFromSocket, TRANSPORTS, type Transport } from '../shared/hep/envelope.ts';
import { Intake, type Sender } from './intake.ts';
import type { RecordSink } from './sink.ts';
import type { CollectorStats } from './stats.ts';

export class Pipeline {
  constructor(
    readonly intake: Intake,
    readonly sink: RecordSink,
    readonly stats: CollectorStats,
  ) {}

  handle(bytes: Buffer, sender: Sender, hrNs: bigint, transport: Transport): void {
    const r = this.intake.process(bytes, sender, hrNs, transport);
    if (typeof r === 'string') {
      this.stats.drop(r, sender.text);
      return;
    }
    const ti = transport === 'udp' ? 0 : transport === 'tcp' ? 1 : 2;
    this.stats.accepted(ti, this.intake.lastRoute);
    const offered = this.sink.offer(r);
    if (offered === 'dropped') this.stats.publishDropped++;
    else if (offered === 'spooled') this.stats.spooled[0]!++;
  }
}

export { TRANSPORTS };

/**
 * Senders by socket address, each prepared once (envelope bytes, key, allowlist verdict). Bounded: a flood of
 * spoofed UDP sources clears the table instead of growing it.
 */
export class SenderTable {
  readonly #cache = new Map<string, Sender>();
  /**
   * The sender of the previous call: a UDP listener sees runs of datagrams from one proxy, and comparing the address
   * string and port is cheaper than building the map key and hashing it per datagram.
   */
  #lastAddress = '';
  #lastPort = -1;
  #last: Sender | undefined;

  constructor(
    private readonly allow: CidrList | undefined,
    private readonly capacity = 4096,
  ) {}

  get(address: string, port: number): Sender | undefined {
    if (port === this.#lastPort && address === this.#lastAddress) return this.#last;
    const k = `${address} ${port}`;
    let s = this.#cache.get(k);
    if (s === undefined) {
      s = this.make(address, port);
      if (s === undefined) return undefined;
      if (this.#cache.size >= this.capacity) this.#cache.clear();
      this.#cache.set(k, s);
    }
    this.#lastAddress = address;
    this.#lastPort = port;
    this.#last = s;
    return s;
  }

  make(address: string, port: number): Sender | undefined {
    const env = senderFromSocket(address, port);
    if (env === undefined) return undefined;
    const ip = address.startsWith('::ffff:') && env.family === 4 ? address.slice(7) : address;
    return Intake.sender(ip, port, env, this.allow === undefined || this.allow.contains(env));
  }
}
