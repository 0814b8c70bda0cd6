/** Splits captured SIP text into start line, headers (in order, repeated ones kept) and body, for display. */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

export interface SipParts {
  readonly startLine: string;
  readonly headers: SipHeader[];
  readonly body: string;
}

export function splitSip(raw: string): SipParts {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? '' : raw.slice(end).replace(/^\r?\n\r?\n/, '');
  const lines = head.split(/\r?\n/);
  const startLine = lines.shift() ?? '';
  const headers: SipHeader[] = [];
  for (const line of lines) {
    // Folded continuation lines (RFC 3261 7.3.1) belong to the previous header.
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const prev = headers.pop()!;
      headers.push({ name: prev.name, value: `${prev.value} ${line.trim()}` });
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return { startLine, headers, body };
}
