/**
 * Our own HEP sender for tests and the load generator: realistic SIP messages (REGISTER, INVITE, OPTIONS, BYE and
 * their responses, IPv4 and IPv6, 300-1500 bytes) wrapped with encodeHep, sent over UDP or TCP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeHep, type HepPacket } from '../../services/shared/hep/index.ts';

const CRLF = '\r\n';

export interface SipSpec {
  readonly method: 'REGISTER' | 'INVITE' | 'OPTIONS' | 'BYE' | 'ACK';
  /** Response code, or undefined for the request. */
  readonly status?: number;
  readonly callId: string;
  readonly cseq: number;
  readonly v6: boolean;
  /** Padding in a User-Agent-like header to reach a size. */
  readonly targetSize?: number;
  /** Use the compact `i:` form for Call-ID. */
  readonly compact?: boolean;
}

const REASON: Record<number, string> = { 100: 'Trying', 180: 'Ringing', 200: 'OK', 401: 'Unauthorized', 404: 'Not Found', 486: 'Busy Here' };

export function sipMessage(s: SipSpec): string {
  const host = s.v6 ? '[2001:db8::7]' : '198.51.100.7';
  const peer = s.v6 ? '[2001:db8:1::20]' : '203.0.113.20';
  const first = s.status === undefined
    ? `${s.method} ${s.method === 'REGISTER' ? 'sip:example.net' : `sip:+4930123456@${peer}`} SIP/2.0`
    : `SIP/2.0 ${s.status} ${REASON[s.status] ?? 'Status'}`;
  const lines = [
    first,
    `Via: SIP/2.0/UDP ${host}:5060;branch=z9hG4bK-${s.callId.slice(0, 8)}-${s.cseq};rport`,
    'Max-Forwards: 70',
    `From: "Alice" <sip:alice@example.net>;tag=${s.callId.slice(0, 6)}`,
    `To: <sip:+4930123456@sip.example.net>${s.status !== undefined && s.status > 100 ? ';tag=as5d1e2f' : ''}`,
    `${s.compact ? 'i' : 'Call-ID'}: ${s.callId}`,
    `CSeq: ${s.cseq} ${s.method}`,
    `Contact: <sip:alice@${host}:5060>`,
  ];
  let body = '';
  if (s.method === 'INVITE' && (s.status === undefined || s.status === 200)) {
    const ip = s.v6 ? 'IP6 2001:db8::7' : 'IP4 198.51.100.7';
    body = ['v=0', `o=- 3912341234 3912341234 IN ${ip}`, 's=-', `c=IN ${ip}`, 't=0 0', 'm=audio 16384 RTP/AVP 0 8 101',
      'a=rtpmap:101 telephone-event/8000', ''].join(CRLF);
    lines.push('Content-Type: application/sdp');
  }
  const base = () => [...lines, `Content-Length: ${Buffer.byteLength(body)}`].join(CRLF) + CRLF + CRLF + body;
  const size = Buffer.byteLength(base());
  if (s.targetSize !== undefined && s.targetSize > size + 30) lines.push(`User-Agent: tollgate-load ${'x'.repeat(s.targetSize - size - 28)}`);
  return base();
}

export interface HepOptions {
  readonly v6?: boolean;
  readonly captureId?: number;
  readonly authKey?: string;
  readonly correlationId?: string;
  readonly nodeName?: string;
  readonly payloadType?: number;
  readonly timestampSec?: number;
  readonly srcPort?: number;
}

export function hepPacket(payload: string | Buffer, o: HepOptions = {}): Buffer {
  const now = Date.now();
  const p: HepPacket = {
    version: 3,
    ipFamily: o.v6 ? 6 : 4,
    protocol: 17,
    srcIp: o.v6 ? '2001:db8::7' : '198.51.100.7',
    dstIp: o.v6 ? '2001:db8:1::20' : '203.0.113.20',
    srcPort: o.srcPort ?? 5060,
    dstPort: 5060,
    timestampSec: o.timestampSec ?? Math.floor(now / 1000),
    timestampUsec: (now % 1000) * 1000,
    payloadType: o.payloadType ?? 1,
    captureId: o.captureId ?? 2001,
    authKey: o.authKey,
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
    correlationId: o.correlationId,
    nodeName: o.nodeName ?? 'load-node',
  };
  return encodeHep(p);
}

/** Deterministic pseudo-random generator so a failing run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export interface MixItem {
  readonly callId: string;
  readonly seq: number;
  readonly bytes: Buffer;
}

/**
 * A realistic mix: 40% INVITE dialogs (INVITE, 100, 180, 200, ACK, BYE, 200), 30% REGISTER (REGISTER, 401,
 * REGISTER, 200), 30% OPTIONS (OPTIONS, 200); a quarter over IPv6; sizes 300-1500 bytes. `seq` numbers each
 * Call-ID's packets in send order so per-call order can be checked at the consumer.
 */
export function sipMix(calls: number, seed = 1, hep: HepOptions = {}): MixItem[] {
  const r = rng(seed);
  const out: MixItem[] = [];
  for (let c = 0; c < calls; c++) {
    const callId = `${seed.toString(36)}-${c.toString(36)}-${Math.floor(r() * 1e9).toString(36)}@tollgate.test`;
    const v6 = r() < 0.25;
    const kind = r();
    const steps: Array<Pick<SipSpec, 'method' | 'status' | 'cseq'>> = kind < 0.4
      ? [
          { method: 'INVITE', cseq: 1 }, { method: 'INVITE', status: 100, cseq: 1 }, { method: 'INVITE', status: 180, cseq: 1 },
          { method: 'INVITE', status: 200, cseq: 1 }, { method: 'ACK', cseq: 1 }, { method: 'BYE', cseq: 2 }, { method: 'BYE', status: 200, cseq: 2 },
        ]
      : kind < 0.7
        ? [{ method: 'REGISTER', cseq: 1 }, { method: 'REGISTER', status: 401, cseq: 1 }, { method: 'REGISTER', cseq: 2 }, { method: 'REGISTER', status: 200, cseq: 2 }]
        : [{ method: 'OPTIONS', cseq: 1 }, { method: 'OPTIONS', status: 200, cseq: 1 }];
    steps.forEach((st, seq) => {
      const targetSize = 300 + Math.floor(r() * 1200);
      const msg = sipMessage({ ...st, callId, v6, targetSize });
      out.push({ callId, seq, bytes: hepPacket(msg, { ...hep, v6 }) });
    });
  }
  return out;
}

/** Interleaves each call's packets with other calls' while keeping every call's own order. */
export function interleave(items: readonly MixItem[], seed = 7): MixItem[] {
  const r = rng(seed);
  const byCall = new Map<string, MixItem[]>();
  for (const it of items) {
    const list = byCall.get(it.callId) ?? [];
    list.push(it);
    byCall.set(it.callId, list);
  }
  const queues = [...byCall.values()];
  const out: MixItem[] = [];
  const window = 64;
  let live = queues.splice(0, window);
  while (live.length > 0) {
    const i = Math.floor(r() * live.length);
    const q = live[i]!;
    out.push(q.shift()!);
    if (q.length === 0) {
      live.splice(i, 1);
      const next = queues.shift();
      if (next) live.push(next);
    }
  }
  return out;
}

export interface UdpSendOptions {
  readonly family?: 4 | 6;
  /** Datagrams per macrotask before yielding; with `ratePerSec`, paced to that rate. */
  readonly ratePerSec?: number;
}

/** Sends every packet, paced when a rate is given; resolves when all have been handed to the kernel. */
export async function sendUdp(host: string, port: number, packets: readonly Buffer[], o: UdpSendOptions = {}): Promise<void> {
  const socket = dgram.createSocket(o.family === 6 ? 'udp6' : 'udp4');
  try {
    await pace(packets.length, o.ratePerSec, (i) => new Promise<void>((resolve, reject) => {
      socket.send(packets[i]!, port, host, (err) => (err ? reject(err) : resolve()));
    }));
  } finally {
    socket.close();
  }
}

async function pace(n: number, rate: number | undefined, send: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const burst = 64;
  for (let i = 0; i < n; i += burst) {
    const end = Math.min(n, i + burst);
    const batch: Promise<void>[] = [];
    for (let k = i; k < end; k++) batch.push(send(k));
    await Promise.all(batch);
    if (rate !== undefined) {
      const due = t0 + (end / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    } else if ((i / burst) % 16 === 0) {
      await new Promise((r) => setImmediate(r));
    }
  }
}

export interface TcpSendOptions {
  readonly family?: 4 | 6;
  /** Cut the byte stream at random points (seeded) instead of packet boundaries. */
  readonly splitSeed?: number;
  readonly ratePerSec?: number;
}

/** One connection; writes the packets (optionally re-cut at random points), ends, and waits for the close. */
export async function sendTcp(host: string, port: number, packets: readonly Buffer[], o: TcpSendOptions = {}): Promise<void> {
  const socket = net.connect({ host, port, family: o.family, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  const write = (b: Buffer): Promise<void> => new Promise((resolve, reject) => {
    if (socket.write(b, (err) => (err ? reject(err) : undefined))) resolve();
    else socket.once('drain', resolve);
  });
  if (o.splitSeed !== undefined) {
    const r = rng(o.splitSeed);
    const all = Buffer.concat(packets);
    let off = 0;
    while (off < all.length) {
      const n = 1 + Math.floor(r() * 3000);
      await write(all.subarray(off, off + n));
      off += n;
      // Yield so the pieces leave as separate segments rather than one coalesced write.
      if (r() < 0.3) await new Promise((res) => setImmediate(res));
    }
  } else {
    await pace(packets.length, o.ratePerSec, (i) => write(packets[i]!));
  }
  socket.end();
  await closed;
}
