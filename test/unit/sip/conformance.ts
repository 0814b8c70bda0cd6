/** Locates the shared conformance corpora (they live beside the repository, not in it) and reads them. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR = fileURLToPath(new URL('../../../../shared/conformance/', import.meta.url));
export const RFC4475_DIR = `${CONFORMANCE_DIR}sip-rfc4475/`;
export const CALLFLOWS_DIR = `${CONFORMANCE_DIR}sip-callflows/`;

export function rfc4475Files(): string[] {
  return readdirSync(RFC4475_DIR)
    .filter((f) => f.endsWith('.dat'))
    .sort();
}

export function readTorture(name: string): Buffer {
  return readFileSync(`${RFC4475_DIR}${name}`);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = `${dir}${e}`;
    if (statSync(p).isDirectory()) out.push(...walk(`${p}/`));
    else if (e.endsWith('.yaml')) out.push(p);
  }
  return out;
}

export function callFlowFiles(): string[] {
  return walk(CALLFLOWS_DIR);
}

/**
 * The call-flow files are a YAML list of `|+` block scalars, nothing else; a full YAML library would be a
 * dependency for twenty lines. Lines are re-terminated with CRLF, which is what the RFCs' messages use on the wire.
 */
export function readCallFlow(path: string): string[] {
  const items: string[][] = [];
  let cur: string[] | undefined;
  const text = readFileSync(path, 'utf8');
  for (const line of (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n')) {
    if (/^- \|[+-]?\s*$/.test(line)) {
      cur = [];
      items.push(cur);
      continue;
    }
    if (cur === undefined || line.startsWith('#')) continue;
    if (line.length > 0 && !line.startsWith('  ')) throw new Error(`unexpected YAML line in ${path}: ${line}`);
    cur.push(line.slice(2));
  }
  return items.map((lines) => lines.map((l) => `${l}\r\n`).join(''));
}
