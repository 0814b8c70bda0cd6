/**
 * pcap and pcapng files → captured frames, incrementally: `push()` takes the file in chunks of any size (cut
 * anywhere) and returns every frame completed so far, so a large capture is read with flat memory. A record cut by
 * the end of the file is counted (`truncated`), never thrown; a header that cannot be right (bad magic, a length
 * below the minimum or beyond `maxRecordBytes`) throws TG_IMPORT_BAD_FILE with its offset.
 *
 * Hand-written on purpose: the npm pcap readers read classic pcap only, and this one must also hand back the
 * per-interface link type and timestamp resolution of pcapng (EPB, SPB, the obsolete PB), both byte orders, and
 * nanosecond pcap.
 */
import { TollgateError } from '../../shared/errors.ts';
import { ImporterErrors } from '../errors.ts';

export interface Frame {
  /** Capture time, µs since the epoch (nanosecond captures are truncated to µs, HEP's resolution). */
  readonly tsUs: number;
  readonly linkType: number;
  readonly data: Buffer;
  /** Length on the wire; larger than `data` when the capture was cut by its snap length. */
  readonly origLen: number;
}

export type CaptureFormat = 'pcap' | 'pcapng';

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: bigint;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const NG_SHB = 0x0a0d0d0a;
const NG_BOM = 0x1a2b3c4d;

function bad(message: string, offset: number): TollgateError {
  return new TollgateError(ImporterErrors.badFile, `${message} at byte ${offset}`, { offset });
}

export class CaptureReader {
  readonly maxRecordBytes: number;
  format: CaptureFormat | undefined;
  /** Records cut by the end of the input (only known at `finish()`). */
  truncated = 0;
  /** pcapng blocks that carry no packet (name resolution, statistics, custom...) or packets of an unknown interface. */
  skippedBlocks = 0;
  #buf: Buffer = Buffer.alloc(0);
  /** File offset of `#buf[0]`. */
  #offset = 0;
  #le = true;
  #ns = false;
  #pcapLink = 0;
  #ifaces: Iface[] = [];
  #lastTsUs = 0;

  constructor(opts: { maxRecordBytes?: number } = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? 16 * 1024 * 1024;
  }

  get offset(): number {
    return this.#offset;
  }

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Frame[] = [];
    let pos = 0;
    for (;;) {
      const used = this.#next(pos, out);
      if (used === 0) break;
      pos += used;
    }
    this.#offset += pos;
    this.#buf = pos === this.#buf.length ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(pos));
    return out;
  }

  /** Call at the end of the input: counts an incomplete last record. */
  finish(): void {
    if (this.#buf.length > 0) {
      if (this.format === undefined) throw bad(`${this.#buf.length} bytes are too short for a pcap or pcapng header`, this.#offset);
      this.truncated++;
      this.#buf = Buffer.alloc(0);
    }
  }

  /** Parses one header or record at `pos`; returns the bytes used, 0 when more input is needed. */
  #next(pos: number, out: Frame[]): number {
    const b = this.#buf;
    const avail = b.length - pos;
    if (this.format === undefined) {
      if (avail < 4) return 0;
      const magicBE = b.readUInt32BE(pos);
      const magicLE = b.readUInt32LE(pos);
      if (magicBE === NG_SHB) return this.#shb(pos);
      if (magicLE === PCAP_US || magicLE === PCAP_NS || magicBE === PCAP_US || magicBE === PCAP_NS) {
        if (avail < 24) return 0;
        this.#le = magicLE === PCAP_US || magicLE === PCAP_NS;
        this.#ns = (this.#le ? magicLE : magicBE) === PCAP_NS;
        this.#pcapLink = this.#u32(pos + 20) & 0x0fff_ffff;
        this.format = 'pcap';
        return 24;
      }
      throw bad(`not a pcap or pcapng file (magic 0x${magicBE.toString(16).padStart(8, '0')}; expected a1b2c3d4, a1b23c4d or 0a0d0d0a)`, this.#offset + pos);
    }
    return this.format === 'pcap' ? this.#pcapRecord(pos, out) : this.#ngBlock(pos, out);
  }

  #u16(p: number): number {
    return this.#le ? this.#buf.readUInt16LE(p) : this.#buf.readUInt16BE(p);
  }

  #u32(p: number): number {
    return this.#le ? this.#buf.readUInt32LE(p) : this.#buf.readUInt32BE(p);
  }

  #pcapRecord(pos: number, out: Frame[]): number {
    if (this.#buf.length - pos < 16) return 0;
    const sec = this.#u32(pos);
    const frac = this.#u32(pos + 4);
    const incl = this.#u32(pos + 8);
    const orig = this.#u32(pos + 12);
    if (incl > this.maxRecordBytes) throw bad(`pcap record length ${incl} exceeds ${this.maxRecordBytes}`, this.#offset + pos);
    if (this.#buf.length - pos < 16 + incl) return 0;
    const tsUs = sec * 1_000_000 + (this.#ns ? Math.floor(frac / 1000) : frac);
    out.push({ tsUs, linkType: this.#pcapLink, data: Buffer.from(this.#buf.subarray(pos + 16, pos + 16 + incl)), origLen: orig });
    return 16 + incl;
  }

  #shb(pos: number): number {
    const b = this.#buf;
    if (b.length - pos < 12) return 0;
    const bom = b.readUInt32LE(pos + 8);
    if (bom === NG_BOM) this.#le = true;
    else if (b.readUInt32BE(pos + 8) === NG_BOM) this.#le = false;
    else throw bad('pcapng section header without its byte-order magic', this.#offset + pos);
    const len = this.#u32(pos + 4);
    if (len < 28 || len % 4 !== 0 || len > this.maxRecordBytes) throw bad(`pcapng section header length ${len}`, this.#offset + pos);
    if (b.length - pos < len) return 0;
    this.format = 'pcapng';
    this.#ifaces = [];
    return len;
  }

  #ngBlock(pos: number, out: Frame[]): number {
    const b = this.#buf;
    if (b.length - pos < 8) return 0;
    const type = this.#u32(pos);
    if (type === NG_SHB) return this.#shb(pos);
    const len = this.#u32(pos + 4);
    if (len < 12 || len % 4 !== 0 || len > this.maxRecordBytes) throw bad(`pcapng block length ${len}`, this.#offset + pos);
    if (b.length - pos < len) return 0;
    const body = pos + 8;
    const end = pos + len - 4;
    switch (type) {
      case 1: { // Interface Description Block
        if (end - body < 8) throw bad('pcapng interface description too short', this.#offset + pos);
        this.#ifaces.push({ linkType: this.#u16(body), unitsPerSec: this.#tsresol(body + 8, end) });
        break;
      }
      case 6: // Enhanced Packet Block
      case 2: { // Packet Block (obsolete): interface id is 16 bits, then a drops count
        if (end - body < 20) throw bad('pcapng packet block too short', this.#offset + pos);
        const ifId = type === 6 ? this.#u32(body) : this.#u16(body);
        const ticks = (BigInt(this.#u32(body + 4)) << 32n) | BigInt(this.#u32(body + 8));
        const cap = this.#u32(body + 12);
        const orig = this.#u32(body + 16);
        if (body + 20 + cap > end) throw bad(`pcapng packet length ${cap} beyond its block`, this.#offset + pos);
        const iface = this.#ifaces[ifId];
        if (iface === undefined) {
          this.skippedBlocks++;
          break;
        }
        const tsUs = Number((ticks * 1_000_000n) / iface.unitsPerSec);
        this.#lastTsUs = tsUs;
        out.push({ tsUs, linkType: iface.linkType, data: Buffer.from(b.subarray(body + 20, body + 20 + cap)), origLen: orig });
        break;
      }
      case 3: { // Simple Packet Block: interface 0, no timestamp (the previous packet's is the best we have)
        const iface = this.#ifaces[0];
        if (end - body < 4 || iface === undefined) {
          this.skippedBlocks++;
          break;
        }
        const orig = this.#u32(body);
        const cap = Math.min(orig, end - body - 4);
        out.push({ tsUs: this.#lastTsUs, linkType: iface.linkType, data: Buffer.from(b.subarray(body + 4, body + 4 + cap)), origLen: orig });
        break;
      }
      default:
        this.skippedBlocks++;
    }
    return len;
  }

  /** if_tsresol (option 9): 10^-n or, with the top bit set, 2^-n seconds; default microseconds. */
  #tsresol(p: number, end: number): bigint {
    while (p + 4 <= end) {
      const code = this.#u16(p);
      const len = this.#u16(p + 2);
      if (code === 0) break;
      if (p + 4 + len > end) break;
      if (code === 9 && len >= 1) {
        const v = this.#buf[p + 4]!;
        const exp = BigInt(v & 0x7f);
        if (exp > 30n) return 1_000_000n;
        return (v & 0x80) !== 0 ? 1n << exp : 10n ** exp;
      }
      p += 4 + ((len + 3) & ~3);
    }
    return 1_000_000n;
  }
}
