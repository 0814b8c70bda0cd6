/**
 * mod_event_socket framing (the bytes → frames layer). A frame is a block of `Name: value` lines ended by an empty
 * line; when it carries `Content-Length: N`, exactly N bytes of body follow. The parser is fed arbitrary chunks
 * and yields whole frames only, so it is correct for any split of the stream (a header terminator or a body cut
 * anywhere). Outer header values are not URL-encoded; event bodies are decoded one layer up (events.ts).
 *
 * Blank lines between frames are skipped: FreeSWITCH never sends them, but clients such as CGRateS' agent send
 * commands followed by extra blank lines, and the emulator uses the same parser for what clients send.
 */
import { TollgateError } from '../../shared/errors.ts';
import { RatingErrors } from '../errors.ts';

export interface EslFrame {
  /** Header names as sent (case kept); lookups are by exact name, as FreeSWITCH always sends the same case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

export interface FrameParserLimits {
  /** Largest header block accepted (bytes); more without a terminator means the stream is garbage. */
  readonly maxHeaderBytes: number;
  /** Largest Content-Length accepted (`show channels as json` on a busy switch is the biggest legitimate body). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_FRAME_LIMITS: FrameParserLimits = { maxHeaderBytes: 64 * 1024, maxBodyBytes: 64 * 1024 * 1024 };

const LF = 0x0a;
const CR = 0x0d;

export class EslFrameParser {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes of `#buf` already searched for the header terminator (so a slow trickle is not rescanned). */
  #scanned = 0;
  #pendingHeaders: Record<string, string> | undefined;
  #bodyLength = 0;
  readonly #limits: FrameParserLimits;

  constructor(limits: Partial<FrameParserLimits> = {}) {
    this.#limits = { ...DEFAULT_FRAME_LIMITS, ...limits };
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Feeds one chunk; returns the frames it completes (possibly none). Throws TG_ESL_PROTOCOL on garbage. */
  push(chunk: Buffer): EslFrame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: EslFrame[] = [];
    for (;;) {
      if (this.#pendingHeaders !== undefined) {
        if (this.#buf.length < this.#bodyLength) break;
        const body = Buffer.from(this.#buf.subarray(0, this.#bodyLength));
        this.#buf = this.#buf.subarray(this.#bodyLength);
        out.push({ headers: this.#pendingHeaders, body });
        this.#pendingHeaders = undefined;
        this.#scanned = 0;
        continue;
      }
      // Skip blank lines before a header block.
      let start = 0;
      while (start < this.#buf.length && (this.#buf[start] === LF || (this.#buf[start] === CR && this.#buf[start + 1] === LF))) {
        start += this.#buf[start] === CR ? 2 : 1;
      }
      if (start > 0) {
        this.#buf = this.#buf.subarray(start);
        this.#scanned = 0;
      }
      if (this.#buf.length === 0) break;
      const end = findBlankLine(this.#buf, Math.max(0, this.#scanned - 3));
      if (end === -1) {
        this.#scanned = this.#buf.length;
        if (this.#buf.length > this.#limits.maxHeaderBytes) {
          throw protocolError(`header block longer than ${this.#limits.maxHeaderBytes} bytes without an empty line`, this.#buf);
        }
        break;
      }
      const headers = parseHeaderBlock(this.#buf.subarray(0, end.headerEnd), false);
      this.#buf = this.#buf.subarray(end.next);
      this.#scanned = 0;
      const cl = headers['Content-Length'];
      if (cl === undefined) {
        out.push({ headers, body: undefined });
        continue;
      }
      if (!/^\d{1,10}$/.test(cl) || Number(cl) > this.#limits.maxBodyBytes) {
        throw protocolError(`Content-Length ${JSON.stringify(cl)} is not an integer 0-${this.#limits.maxBodyBytes}`, Buffer.from(cl));
      }
      this.#pendingHeaders = headers;
      this.#bodyLength = Number(cl);
    }
    return out;
  }
}

/** Position of the first empty line: `headerEnd` excludes it, `next` is the first byte after it. */
function findBlankLine(buf: Buffer, from: number): { headerEnd: number; next: number } | -1 {
  let i = buf.indexOf(LF, from);
  while (i !== -1) {
    const n = buf[i + 1];
    if (n === LF) return { headerEnd: i, next: i + 2 };
    if (n === CR && buf[i + 2] === LF) return { headerEnd: i, next: i + 3 };
    if (n === undefined) return -1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/**
 * `Name: value` lines → a null-prototype record (a header called `__proto__` stays a header). With `urlDecoded`,
 * values are percent-decoded as event-plain bodies carry them. A line without `: ` is garbage.
 */
export function parseHeaderBlock(block: Buffer | string, urlDecoded: boolean): Record<string, string> {
  const text = typeof block === 'string' ? block : block.toString('utf8');
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let line of text.split('\n')) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(`header line without "Name: value": ${JSON.stringify(line.slice(0, 80))}`, Buffer.from(line));
    const name = line.slice(0, colon);
    const raw = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    headers[name] = urlDecoded ? urlDecode(raw) : raw;
  }
  return headers;
}

/** Percent-decoding that never throws: a malformed escape is kept as written (FreeSWITCH does not encode '+'). */
export function urlDecode(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/(%[0-9A-Fa-f]{2})+/g, (seq) => {
      try {
        return decodeURIComponent(seq);
      } catch {
        return seq;
      }
    });
  }
}

/** What FreeSWITCH's switch_url_encode leaves alone: letters, digits and `-_.!~*'()`; everything else is %XX of UTF-8. */
export function urlEncode(value: string): string {
  return encodeURIComponent(value);
}

function protocolError(message: string, sample: Buffer): TollgateError {
  return new TollgateError(RatingErrors.eslProtocol, `ESL protocol error: ${message}`, { sample: sample.subarray(0, 64).toString('latin1') });
}

/** Serializes a frame (headers, then the body with its Content-Length), as FreeSWITCH writes one. */
export function encodeFrame(headers: Readonly<Record<string, string>>, body?: string | Buffer): Buffer {
  const b = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let head = '';
  if (b !== undefined) head += `Content-Length: ${b.length}\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'Content-Length') continue;
    head += `${k}: ${v}\n`;
  }
  head += '\n';
  return b === undefined ? Buffer.from(head, 'utf8') : Buffer.concat([Buffer.from(head, 'utf8'), b]);
}
