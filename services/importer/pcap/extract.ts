/**
 * Frames → SIP messages and HEP packets, with every frame that yields neither counted by reason. UDP datagrams are
 * one SIP message (or one HEP packet, when an agent's HEP traffic was captured); TCP is reassembled per direction
 * in sequence order (retransmissions dropped, a bounded out-of-order queue, a gap skipped and counted) and framed
 * by `SipStream`.
 */
import { decodeHep, HepDecodeError } from '../wire.ts';
import type { Frame } from './reader.ts';
import { decodeFrame, Reassembler, type Segment } from './packet.ts';
import { opensSipMessage, SipStream } from './sip-stream.ts';

export interface SipItem {
  readonly kind: 'sip';
  readonly tsUs: number;
  readonly family: 4 | 6;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly transport: 'udp' | 'tcp';
  readonly payload: Buffer;
}

export interface HepItem {
  readonly kind: 'hep';
  readonly tsUs: number;
  /** The HEP packet as the agent sent it. */
  readonly bytes: Buffer;
}

export type Item = SipItem | HepItem;

interface Flow {
  next: number | undefined;
  ooo: Map<number, Buffer>;
  stream: SipStream;
}

const MAX_FLOWS = 65_536;
const MAX_OOO = 256;

function isHep(b: Buffer): boolean {
  return (b.length >= 4 && b.toString('latin1', 0, 4) === 'HEP3') || (b.length >= 2 && (b[0] === 1 || b[0] === 2) && b[1]! >= 16 && b[1]! <= 40);
}

function isKeepalive(b: Buffer): boolean {
  for (const c of b) if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0) return false;
  return true;
}

export class SipExtractor {
  readonly skipped = new Map<string, number>();
  readonly frags = new Reassembler();
  readonly #flows = new Map<string, Flow>();
  frames = 0;
  sip = 0;
  hep = 0;

  skip(reason: string, n = 1): void {
    this.#skips += n;
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + n);
  }

  #skips = 0;

  /**
   * Every frame ends in exactly one place: it yields SIP/HEP items, or it is counted once under a skip reason
   * (`ip_fragment` and `tcp_partial_message` for pieces whose message is completed by a later frame).
   */
  frame(f: Frame): Item[] {
    this.frames++;
    const before = this.#skips;
    const d = decodeFrame(f.linkType, f.data, f.tsUs, this.frags);
    if (d.kind === 'skip') {
      this.skip(d.reason === 'fragment_pending' ? 'ip_fragment' : d.reason);
      return [];
    }
    const s = d.segment;
    const items = s.proto === 'udp' ? this.#udp(s, f.tsUs) : this.#tcp(s, f.tsUs);
    if (items.length === 0 && this.#skips === before) this.skip(s.payload.length === 0 ? 'tcp_control' : 'tcp_partial_message');
    if (items.length > 0 && f.data.length < f.origLen) this.snapCut++;
    return items;
  }

  /** Frames cut by the snap length that still yielded a message (it may be incomplete). */
  snapCut = 0;

  /** At the end of the input: what is left in reassembly buffers is counted, not lost silently. */
  finish(): void {
    const pending = this.frags.pending;
    if (pending > 0) this.skip('fragments_incomplete', pending);
    if (this.frags.dropped > 0) this.skip('fragments_expired', this.frags.dropped);
    let partial = 0;
    for (const f of this.#flows.values()) if (f.stream.buffered > 0) partial++;
    if (partial > 0) this.skip('tcp_incomplete_message', partial);
  }

  #udp(s: Segment, tsUs: number): Item[] {
    const p = s.payload;
    if (p.length === 0 || isKeepalive(p)) {
      this.skip('keepalive');
      return [];
    }
    if (isHep(p)) {
      try {
        decodeHep(p);
      } catch (err) {
        if (!(err instanceof HepDecodeError)) throw err;
        this.skip('hep_invalid');
        return [];
      }
      this.hep++;
      return [{ kind: 'hep', tsUs, bytes: Buffer.from(p) }];
    }
    if (opensSipMessage(p) !== true) {
      this.skip('not_sip');
      return [];
    }
    this.sip++;
    return [this.#item(s, tsUs, 'udp', Buffer.from(p))];
  }

  #item(s: Segment, tsUs: number, transport: 'udp' | 'tcp', payload: Buffer): SipItem {
    return { kind: 'sip', tsUs, family: s.family, src: s.src, dst: s.dst, srcPort: s.srcPort, dstPort: s.dstPort, transport, payload };
  }

  #tcp(s: Segment, tsUs: number): Item[] {
    const key = `${s.src}|${s.srcPort}|${s.dst}|${s.dstPort}`;
    let f = this.#flows.get(key);
    if (s.rst) {
      this.#flows.delete(key);
      if (s.payload.length === 0) return [];
    }
    if (f === undefined) {
      if (this.#flows.size >= MAX_FLOWS) {
        const oldest = this.#flows.keys().next().value;
        if (oldest !== undefined) this.#flows.delete(oldest);
        this.skip('tcp_flows_evicted');
      }
      f = { next: undefined, ooo: new Map(), stream: new SipStream() };
      this.#flows.set(key, f);
    }
    if (s.syn) {
      f.next = (s.seq + 1) >>> 0;
      if (s.payload.length === 0) return [];
    }
    if (s.payload.length === 0) return [];
    f.next ??= s.seq;
    const out: Item[] = [];
    this.#deliver(f, s.seq, s.payload, s, tsUs, out);
    if (s.fin) this.#flows.delete(key);
    return out;
  }

  #deliver(f: Flow, seq: number, data: Buffer, s: Segment, tsUs: number, out: Item[]): void {
    const diff = (seq - f.next!) | 0;
    if (diff < 0) {
      // Retransmission or overlap: keep only the new tail.
      if (-diff >= data.length) {
        this.skip('tcp_retransmission');
        return;
      }
      data = data.subarray(-diff);
      seq = f.next!;
    } else if (diff > 0) {
      f.ooo.set(seq, Buffer.from(data));
      if (f.ooo.size <= MAX_OOO) return;
      // Too much is missing before these: skip the gap, restart framing at the earliest held segment.
      this.skip('tcp_gap');
      const first = [...f.ooo.keys()].sort((a, b) => ((a - f.next!) | 0) - ((b - f.next!) | 0))[0]!;
      f.stream = new SipStream();
      f.next = first;
      const held = f.ooo.get(first)!;
      f.ooo.delete(first);
      this.#deliver(f, first, held, s, tsUs, out);
      return;
    }
    f.next = (seq + data.length) >>> 0;
    this.#frame(f, data, s, tsUs, out);
    for (let held = f.ooo.get(f.next); held !== undefined; held = f.ooo.get(f.next)) {
      f.ooo.delete(f.next);
      const n: number = f.next;
      f.next = (n + held.length) >>> 0;
      this.#frame(f, held, s, tsUs, out);
    }
  }

  #frame(f: Flow, data: Buffer, s: Segment, tsUs: number, out: Item[]): void {
    const st = f.stream;
    const before = { resyncs: st.resyncs, keepalives: st.keepalives, oversize: st.oversize };
    const items = st.push(data);
    // Per segment, like the UDP reasons: a TCP stream that is not SIP (TLS, HTTP) counts its segments as not_sip.
    if (items.length === 0) {
      if (st.oversize > before.oversize) this.skip('tcp_oversize_message');
      else if (st.resyncs > before.resyncs) this.skip('not_sip');
      else if (st.keepalives > before.keepalives && st.buffered === 0) this.skip('keepalive');
    }
    for (const it of items) {
      if (it.kind === 'hep') {
        try {
          decodeHep(it.bytes);
          this.hep++;
          out.push({ kind: 'hep', tsUs, bytes: it.bytes });
        } catch {
          this.skip('hep_invalid');
        }
      } else {
        this.sip++;
        out.push(this.#item(s, tsUs, 'tcp', it.bytes));
      }
    }
  }
}
