/** Loads the shared RFC call flows (they live beside the repository, not in it) as ObservedSip streams. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseSip } from '../../../services/analyzer/sip/index.ts';
import type { SipMessage } from '../../../services/analyzer/sip/index.ts';
import type { ObservedSip } from '../../../services/analyzer/correlation/index.ts';

export const CALLFLOWS_DIR = fileURLToPath(new URL('../../../../shared/conformance/sip-callflows/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((e) => {
    const p = `${dir}${e}`;
    if (statSync(p).isDirectory()) return walk(`${p}/`);
    return e.endsWith('.yaml') ? [p] : [];
  });
}

/** Flow names relative to the corpus folder, e.g. `rfc3665/3.01_successful-session-establishment`. */
export function flowNames(): string[] {
  return walk(CALLFLOWS_DIR).map((p) => p.slice(CALLFLOWS_DIR.length, -'.yaml'.length));
}

export function flowMessages(name: string): SipMessage[] {
  const items = parse(readFileSync(`${CALLFLOWS_DIR}${name}.yaml`, 'utf8')) as unknown;
  if (!Array.isArray(items)) throw new Error(`${name}: not a YAML list`);
  return items.map((raw: unknown, i) => {
    if (typeof raw !== 'string') throw new Error(`${name} #${i + 1}: not a block scalar`);
    // The RFCs' messages travel with CRLF; the YAML block scalars hold LF.
    const r = parseSip(Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'utf8'));
    if (!r.ok) throw new Error(`${name} #${i + 1}: ${r.reason} ${r.detail}`);
    return r.message;
  });
}

export const T0 = 1_700_000_000_000_000;
export const STEP = 1_000;

/**
 * Synthetic capture: message i at start + i·step µs. The UA side of a hop takes its address from the top Via
 * (its host when that is an IP literal, else the `received` a proxy wrote), so NAT hints stay meaningful; other
 * hops get documentation addresses numbered by Via count. Responses travel the other way.
 */
export function observe(messages: readonly SipMessage[], start = T0, step = STEP): ObservedSip[] {
  return messages.map((message, i) => {
    const hop = Math.max(1, message.via.length);
    const top = message.topVia;
    const viaIp = top === undefined ? undefined : /^[\d.]+$/.test(top.host) ? top.host : top.received;
    const a = { ip: viaIp ?? `198.51.100.${hop}`, port: top?.port ?? 5060 };
    const b = { ip: `203.0.113.${hop}`, port: 5060 };
    const [src, dst] = message.kind === 'request' ? [a, b] : [b, a];
    return {
      message,
      tsUs: BigInt(start + i * step),
      srcIp: src.ip,
      srcPort: src.port,
      dstIp: dst.ip,
      dstPort: dst.port,
      transport: top?.transport ?? 'UDP',
      captureId: hop,
      node: `hop${hop}`,
      seq: i,
    };
  });
}

/** Capture time of the flow's message number n (1-based, as the RFCs number them F1, F2 ...). */
export const at = (n: number, start = T0, step = STEP): number => start + (n - 1) * step;
