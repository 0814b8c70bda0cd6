/** Address text <-> bytes for the HEP wire layer, written for the decode hot path (no regexes, no net module). */

export function formatIpv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

const HEX: string[] = Array.from({ length: 0x10000 }, (_, i) => i.toString(16));

/** RFC 5952: lowercase, no leading zeros, the longest (first on a tie) run of two or more zero groups as `::`. */
export function formatIpv6(buf: Buffer, off: number): string {
  const g0 = (buf[off]! << 8) | buf[off + 1]!;
  const g1 = (buf[off + 2]! << 8) | buf[off + 3]!;
  const g2 = (buf[off + 4]! << 8) | buf[off + 5]!;
  const g3 = (buf[off + 6]! << 8) | buf[off + 7]!;
  const g4 = (buf[off + 8]! << 8) | buf[off + 9]!;
  const g5 = (buf[off + 10]! << 8) | buf[off + 11]!;
  // RFC 5952 section 5 recommends the mixed notation for IPv4-mapped addresses.
  if ((g0 | g1 | g2 | g3 | g4) === 0 && g5 === 0xffff) {
    return `::ffff:${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
  }
  const g = [g0, g1, g2, g3, g4, g5, (buf[off + 12]! << 8) | buf[off + 13]!, (buf[off + 14]! << 8) | buf[off + 15]!];
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (g[i] === 0) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += HEX[g[i]!]!;
    if (i < 7) out += ':';
  }
  return out;
}

/** Returns the address as an unsigned 32-bit number, or -1 when the text is not a dotted quad. */
export function parseIpv4(text: string): number {
  let value = 0;
  let part = -1;
  let parts = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (part < 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = -1;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      // A leading zero would read as octal to some tools; refuse the ambiguity.
      if (digits === 1 && part === 0) return -1;
      part = (part < 0 ? 0 : part * 10) + (c - 0x30);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Writes 16 bytes at `off`; false when the text is not an IPv6 address (zone ids are refused). */
export function writeIpv6(text: string, out: Buffer, off: number): boolean {
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  const n = text.length;
  if (n < 2) return false;
  if (text.startsWith('::')) {
    gap = 0;
    i = 2;
  } else if (text.charCodeAt(0) === 0x3a) {
    return false;
  }
  while (i < n) {
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const c = text.charCodeAt(j);
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < n && text.charCodeAt(j) === 0x2e) {
      // Embedded dotted quad: only as the last 32 bits.
      const v4 = parseIpv4(text.slice(i));
      if (v4 < 0) return false;
      groups.push(v4 >>> 16, v4 & 0xffff);
      i = n;
      break;
    }
    if (j === i || j - i > 4) return false;
    groups.push(v);
    if (j === n) {
      i = n;
      break;
    }
    if (text.charCodeAt(j) !== 0x3a) return false;
    if (j + 1 < n && text.charCodeAt(j + 1) === 0x3a) {
      if (gap >= 0) return false;
      gap = groups.length;
      i = j + 2;
    } else {
      if (j + 1 === n) return false;
      i = j + 1;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const fill = 8 - groups.length;
  let w = off;
  for (let k = 0; k < groups.length; k++) {
    if (k === gap) {
      for (let z = 0; z < fill; z++) {
        out[w++] = 0;
        out[w++] = 0;
      }
    }
    out[w++] = groups[k]! >>> 8;
    out[w++] = groups[k]! & 0xff;
  }
  if (gap === groups.length) {
    for (let z = 0; z < fill; z++) {
      out[w++] = 0;
      out[w++] = 0;
    }
  }
  return true;
}
