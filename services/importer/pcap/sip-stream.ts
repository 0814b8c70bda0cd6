/**
 * SIP over a byte stream (TCP, reassembled): message boundaries by the blank line and Content-Length (RFC 3261
 * 18.3), CRLF keepalives skipped (RFC 5626 4.4.1), HEP3 frames passed through (an agent sending HEP over TCP).
 * A stream that does not start where a message starts (capture began mid-stream) resynchronizes at the next line
 * that opens a SIP message. Bounded: a message larger than `maxMessage` is dropped and the stream resynchronizes.
 */

const CR = 0x0d;
const LF = 0x0a;
const MAX_START_LINE = 2048;

/** True when `b` at `off` opens a SIP message: `SIP/2.0 NNN` or `METHOD SP uri SP SIP/2.0` with a line end. */
export function opensSipMessage(b: Buffer, off = 0): boolean | undefined {
  const lf = b.indexOf(LF, off);
  const end = lf === -1 ? Math.min(b.length, off + MAX_START_LINE) : lf;
  if (lf === -1 && b.length - off < MAX_START_LINE) {
    // No full line yet: decide on what is there if it already cannot be SIP.
    const head = b.toString('latin1', off, Math.min(b.length, off + 16));
    if (/^SIP\/2\.0 /.test(head) || /^[A-Z]+( |$)/.test(head) || head === '' || 'SIP/2.0'.startsWith(head)) return undefined;
    return false;
  }
  let line = b.toString('latin1', off, end);
  if (line.endsWith('\r')) line = line.slice(0, -1);
  return /^SIP\/2\.0 \d{3}( |$)/.test(line) || /^[A-Za-z][A-Za-z0-9.!%*_+`'~-]* \S+ SIP\/2\.0$/.test(line);
}

const CONTENT_LENGTH = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*(\d+)/i;

export type StreamItem = { readonly kind: 'sip'; readonly bytes: Buffer } | { readonly kind: 'hep'; readonly bytes: Buffer };

export class SipStream {
  #buf: Buffer = Buffer.alloc(0);
  keepalives = 0;
  resyncs = 0;
  oversize = 0;

  constructor(private readonly maxMessage = 1024 * 1024) {}

  get buffered(): number {
    return this.#buf.length;
  }

  push(data: Buffer): StreamItem[] {
    this.#buf = this.#buf.length === 0 ? Buffer.from(data) : Buffer.concat([this.#buf, data]);
    const out: StreamItem[] = [];
    let pos = 0;
    const b = this.#buf;
    for (;;) {
      let skipped = 0;
      while (pos < b.length && (b[pos] === CR || b[pos] === LF)) {
        pos++;
        skipped++;
      }
      if (skipped >= 2) this.keepalives++;
      if (pos >= b.length) break;
      if (b.length - pos >= 4 && b.toString('latin1', pos, pos + 4) === 'HEP3') {
        if (b.length - pos < 6) break;
        const len = b.readUInt16BE(pos + 4);
        if (len < 6) {
          pos = this.#resync(b, pos + 1);
          continue;
        }
        if (b.length - pos < len) break;
        out.push({ kind: 'hep', bytes: Buffer.from(b.subarray(pos, pos + len)) });
        pos += len;
        continue;
      }
      const opens = opensSipMessage(b, pos);
      if (opens === undefined) break;
      if (!opens) {
        pos = this.#resync(b, pos + 1);
        continue;
      }
      let headEnd = b.indexOf('\r\n\r\n', pos, 'latin1');
      let sep = 4;
      const lfOnly = b.indexOf('\n\n', pos, 'latin1');
      if (lfOnly !== -1 && (headEnd === -1 || lfOnly < headEnd)) {
        headEnd = lfOnly;
        sep = 2;
      }
      if (headEnd === -1) {
        if (b.length - pos > this.maxMessage) {
          this.oversize++;
          pos = this.#resync(b, pos + 1);
          continue;
        }
        break;
      }
      const m = CONTENT_LENGTH.exec(b.toString('latin1', pos, headEnd));
      const body = m === null ? 0 : Number(m[1]);
      const total = headEnd + sep - pos + body;
      if (total > this.maxMessage) {
        this.oversize++;
        pos = this.#resync(b, headEnd + sep);
        continue;
      }
      if (b.length - pos < total) break;
      out.push({ kind: 'sip', bytes: Buffer.from(b.subarray(pos, pos + total)) });
      pos += total;
    }
    this.#buf = pos >= b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(pos));
    return out;
  }

  /** The offset of the next line that opens a SIP message (or HEP frame) at or after `from`; the end when none. */
  #resync(b: Buffer, from: number): number {
    this.resyncs++;
    for (let i = b.indexOf(LF, from - 1); i !== -1 && i + 1 < b.length; i = b.indexOf(LF, i + 1)) {
      if (opensSipMessage(b, i + 1) !== false) return i + 1;
    }
    // Keep a possible partial start line at the end; drop the rest.
    const lastLf = b.lastIndexOf(LF);
    return lastLf >= from ? lastLf + 1 : b.length;
  }
}
