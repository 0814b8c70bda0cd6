/**
 * Finds the SIP Call-ID in raw payload bytes without building a string or parsing the message: the collector only
 * needs it as a partition key. Header names are matched at line starts only (so a body or another header value
 * containing "call-id:" is never taken), in any case, long (`Call-ID`) or compact (`i`) form, with optional
 * whitespace before the colon. The scan stops at the blank line that ends the headers.
 */

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

// "call-id" lowercase; ASCII letters are folded with `| 0x20`, which leaves '-' (0x2d) unchanged.
const NAME = [0x63, 0x61, 0x6c, 0x6c, 0x2d, 0x69, 0x64];

function isWs(c: number | undefined): boolean {
  return c === SP || c === HT;
}

/** Index just past the line ending at `i` (CRLF or bare LF), or -1 when `i` is not at a line ending. */
function afterEol(buf: Buffer, i: number, end: number): number {
  if (buf[i] === LF) return i + 1;
  if (buf[i] === CR) return i + 1 < end && buf[i + 1] === LF ? i + 2 : i + 1;
  return -1;
}

/** Offset after `name WS* :` when the line at `p` starts with a Call-ID header name, else -1. */
function matchName(buf: Buffer, p: number, end: number): number {
  let q = p;
  const c0 = buf[q]! | 0x20;
  if (c0 === 0x69 /* i */) {
    q++;
  } else if (c0 === 0x63 /* c */ && end - p >= NAME.length) {
    for (let k = 1; k < NAME.length; k++) if ((buf[p + k]! | 0x20) !== NAME[k]) return -1;
    q += NAME.length;
  } else {
    return -1;
  }
  while (q < end && isWs(buf[q])) q++;
  return q < end && buf[q] === COLON ? q + 1 : -1;
}

/**
 * Returns the Call-ID bytes (a view into `buf` when unfolded, a copy when the value was folded across lines), or
 * undefined when the headers carry none or it is empty.
 */
export function findCallId(buf: Buffer, start = 0, end = buf.length): Buffer | undefined {
  let p = start;
  while (p < end) {
    const c = buf[p]!;
    // A blank line ends the header section; the body may quote anything.
    if (c === CR || c === LF) return undefined;
    const v = (c | 0x20) === 0x69 || (c | 0x20) === 0x63 ? matchName(buf, p, end) : -1;
    if (v >= 0) return readValue(buf, v, end);
    // Skip to the next line start.
    const nl = buf.indexOf(LF, p);
    if (nl < 0 || nl >= end) return undefined;
    p = nl + 1;
  }
  return undefined;
}

function readValue(buf: Buffer, v: number, end: number): Buffer | undefined {
  let p = v;
  const parts: Buffer[] = [];
  for (;;) {
    while (p < end && isWs(buf[p])) p++;
    let q = p;
    while (q < end && buf[q] !== CR && buf[q] !== LF) q++;
    let t = q;
    while (t > p && isWs(buf[t - 1])) t--;
    if (t > p) parts.push(buf.subarray(p, t));
    if (q >= end) break;
    const next = afterEol(buf, q, end);
    // Folding: a line that starts with whitespace continues the header value.
    if (next < end && isWs(buf[next])) {
      p = next;
      continue;
    }
    break;
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  // RFC 3261 7.3.1: a fold is equivalent to a single space.
  const joined: Buffer[] = [];
  for (let k = 0; k < parts.length; k++) {
    if (k > 0) joined.push(Buffer.from(' '));
    joined.push(parts[k]!);
  }
  return Buffer.concat(joined);
}
