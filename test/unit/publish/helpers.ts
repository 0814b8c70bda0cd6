import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CaptureRecord, RecordProducer } from '../../../services/collector/publish/index.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';

export function isTollgateErrorCode(err: unknown, code: string): boolean {
  return isTollgateError(err) && err.code === code;
}

export async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-spool-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A record whose value carries `key:seq` so tests can check order and duplicates after any round trip. */
export function rec(key: string, seq: number, topic = 'hep.sip', pad = 0): CaptureRecord {
  return {
    topic,
    key: Buffer.from(key),
    value: Buffer.from(`${key}:${seq}:${'x'.repeat(pad)}`),
    headers: { src: '10.0.0.1:5060', dst: '10.0.0.2:5060', seq: String(seq) },
    receivedAtNs: process.hrtime.bigint(),
  };
}

export const idOf = (r: CaptureRecord): string => r.value.toString().split(':').slice(0, 2).join(':');

export interface Delivery {
  readonly id: string;
  /** The send that carried it was reported failed although the records were written (a lost acknowledgement). */
  readonly ackLost: boolean;
}

export type SendFate = 'ok' | 'fail' | 'ack-lost';

/**
 * Stands in for Kafka: `fate(callIndex)` decides each send. A failing producer also fails `connect`, as a broker
 * that is down would; `hang` makes sends wait until `release()`.
 */
export class FakeProducer implements RecordProducer {
  readonly delivered: Delivery[] = [];
  sends = 0;
  connects = 0;
  down = false;
  hang = false;
  #releases: (() => void)[] = [];
  constructor(public fate: (call: number) => SendFate = () => 'ok', public delayMs = 0) {}

  async connect(): Promise<void> {
    this.connects++;
    if (this.down) throw new Error('broker down');
  }

  async send(batch: readonly CaptureRecord[]): Promise<void> {
    const call = this.sends++;
    if (this.hang) await new Promise<void>((r) => this.#releases.push(r));
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.down) throw new Error('broker down');
    const fate = this.fate(call);
    if (fate === 'fail') throw new Error('send failed');
    for (const r of batch) this.delivered.push({ id: idOf(r), ackLost: fate === 'ack-lost' });
    if (fate === 'ack-lost') throw new Error('ack lost');
  }

  async disconnect(): Promise<void> {
    this.release();
  }

  release(): void {
    for (const r of this.#releases.splice(0)) r();
  }
}

export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
