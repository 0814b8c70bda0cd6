/**
 * One log stream for all processes: every line a child writes is tagged with the child's name. JSON lines (pino)
 * get a `process` field so they stay JSON for a log shipper; anything else (pretty logs, a crash trace) gets a
 * `collector-1 | ` prefix.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { redactText } from '../shared/redact.ts';

export function tagLine(line: string, proc: string): string {
  if (line.startsWith('{') && line.endsWith('}')) {
    const rest = line.slice(1).trimStart();
    return rest === '}' ? `{"process":${JSON.stringify(proc)}}` : `{"process":${JSON.stringify(proc)},${rest}`;
  }
  return `${proc.padEnd(12)} | ${line}`;
}

/** Copies `from` to `to` line by line, tagged; resolves when `from` ends. */
export function pipeTagged(from: Readable, to: Writable, proc: string): Promise<void> {
  const rl = createInterface({ input: from, crlfDelay: Infinity });
  rl.on('line', (line) => {
    // Children redact their own logs; this also covers what bypasses the logger (a crash trace on stderr).
    to.write(`${tagLine(redactText(line), proc)}\n`);
  });
  return new Promise((resolve) => rl.once('close', () => resolve()));
}
