/**
 * HEPv3 over a byte stream (TCP): cuts the stream into whole packets using the length after the magic. HEPv2 has
 * no total length and cannot be framed, so only HEPv3 is accepted here.
 */
import { HEP3_HEADER_SIZE, HEP_MAX_PACKET_SIZE, HepDecodeError } from './packet.ts';

export interface HepStreamFramerOptions {
  /** Largest packet accepted; also the bound on what the framer buffers. Default and ceiling 65535. */
  maxPacketSize?: number;
}

const MAGIC = [0x48, 0x45, 0x50, 0x33]; // "HEP3"

export interface FramerOutput {
  /** Whole packets, in stream order; those before `error` in the same chunk included. */
  readonly packets: Buffer[];
  /** Set once the stream lost sync (and on every later call); nothing after it is framed. */
  readonly error: HepDecodeError | undefined;
}

/** Thrown inside `push` only to unwind to its single catch; never escapes the framer. */
class FramingStop {
  constructor(readonly error: HepDecodeError) {}
}

/**
 * Feed it socket chunks, get whole packets back. Packets lying entirely inside one chunk are returned as views of
 * that chunk (no copy; Node hands every 'data' event a fresh buffer). A packet split across chunks is copied once
 * into a buffer allocated at its exact size as soon as its length is known, so each byte is copied at most once
 * whatever the chunking. After a framing error the framer stays failed: the stream has lost sync for good.
 *
 * Errors are returned, not thrown, next to the packets cut before them: a chunk holding the end of one packet, more
 * whole packets and then garbage yields all those packets and the error, so nothing already framed is lost with
 * the connection.
 */
export class HepStreamFramer {
  readonly maxPacketSize: number;
  /** Bytes of a header not yet complete (fewer than 6). */
  private readonly head = Buffer.alloc(HEP3_HEADER_SIZE);
  private headFill = 0;
  /** The packet being assembled across chunks, at its final size. */
  private pending: Buffer | undefined;
  private pendingFill = 0;
  private failure: HepDecodeError | undefined;

  constructor(options: HepStreamFramerOptions = {}) {
    const max = options.maxPacketSize ?? HEP_MAX_PACKET_SIZE;
    if (!Number.isInteger(max) || max < HEP3_HEADER_SIZE || max > HEP_MAX_PACKET_SIZE) {
      throw new RangeError(`maxPacketSize must be an integer in ${HEP3_HEADER_SIZE}..${HEP_MAX_PACKET_SIZE}`);
    }
    this.maxPacketSize = max;
  }

  /** Bytes held back waiting for the rest of a packet. */
  get bufferedBytes(): number {
    return this.pending !== undefined ? this.pendingFill : this.headFill;
  }

  push(chunk: Buffer): FramerOutput {
    if (this.failure) return { packets: [], error: this.failure };
    const out: Buffer[] = [];
    try {
      this.cut(chunk, out);
    } catch (err) {
      if (err instanceof FramingStop) return { packets: out, error: err.error };
      throw err;
    }
    return { packets: out, error: undefined };
  }

  private cut(chunk: Buffer, out: Buffer[]): void {
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      const pending = this.pending;
      if (pending !== undefined) {
        const take = Math.min(pending.length - this.pendingFill, n - off);
        chunk.copy(pending, this.pendingFill, off, off + take);
        this.pendingFill += take;
        off += take;
        if (this.pendingFill === pending.length) {
          out.push(pending);
          this.pending = undefined;
          this.pendingFill = 0;
        }
        continue;
      }
      if (this.headFill > 0 || n - off < HEP3_HEADER_SIZE) {
        const take = Math.min(HEP3_HEADER_SIZE - this.headFill, n - off);
        chunk.copy(this.head, this.headFill, off, off + take);
        this.checkMagic(this.head, 0, this.headFill + take);
        this.headFill += take;
        off += take;
        if (this.headFill < HEP3_HEADER_SIZE) break;
        const total = this.checkLength(this.head, 0);
        this.headFill = 0;
        const packet = Buffer.allocUnsafe(total);
        this.head.copy(packet, 0);
        if (total === HEP3_HEADER_SIZE) {
          out.push(packet);
        } else {
          this.pending = packet;
          this.pendingFill = HEP3_HEADER_SIZE;
        }
        continue;
      }
      this.checkMagic(chunk, off, 4);
      const total = this.checkLength(chunk, off);
      if (n - off >= total) {
        out.push(chunk.subarray(off, off + total));
        off += total;
      } else {
        const packet = Buffer.allocUnsafe(total);
        chunk.copy(packet, 0, off, n);
        this.pending = packet;
        this.pendingFill = n - off;
        off = n;
      }
    }
  }

  /** Call at end of stream: a partial packet left over means the peer cut a packet short. */
  end(): HepDecodeError | undefined {
    if (this.failure) return this.failure;
    const left = this.bufferedBytes;
    if (left === 0) return undefined;
    this.pending = undefined;
    this.pendingFill = 0;
    this.headFill = 0;
    return this.fail(new HepDecodeError('truncated_stream', `stream ended inside a packet (${left} bytes held)`, { left })).error;
  }

  private checkMagic(buf: Buffer, off: number, count: number): void {
    const upTo = Math.min(count, 4);
    for (let i = 0; i < upTo; i++) {
      if (buf[off + i] !== MAGIC[i]) {
        throw this.fail(new HepDecodeError('bad_magic', 'HEP stream lost sync: no HEP3 magic at packet start', {}));
      }
    }
  }

  private checkLength(buf: Buffer, off: number): number {
    const total = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (total < HEP3_HEADER_SIZE) {
      throw this.fail(new HepDecodeError('bad_length', `HEP stream packet length ${total} < 6`, { total }));
    }
    if (total > this.maxPacketSize) {
      throw this.fail(
        new HepDecodeError('too_large', `HEP stream packet of ${total} bytes exceeds ${this.maxPacketSize}`, {
          total,
          max: this.maxPacketSize,
        }),
      );
    }
    return total;
  }

  private fail(err: HepDecodeError): FramingStop {
    this.failure = err;
    return new FramingStop(err);
  }
}
