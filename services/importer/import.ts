/**
 * `npm run import`: a pcap or pcapng file → the capture topics, as the collector would have published it (same
 * envelope, same keys and partitions: `Intake` builds every record), so the analyzer stores and correlates it like
 * live traffic. SIP found in UDP and reassembled TCP is wrapped in HEP v3 with a capture id and node name naming
 * the file; HEP packets found in the capture (an agent's own HEP traffic) pass through as sent.
 *
 * `shiftToNow` moves every timestamp by one offset: with `speed`, so that the first packet is now (and the replay
 * runs live); without, so that the last packet is now (nothing in the future). `speed` N paces the sends at N
 * times the captured rate; without it the file is sent as fast as Kafka takes it. Calls and registrations are
 * counted with the analyzer's own trackers, so the summary says what will land in `calls` and `registrations`.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { DialogTracker, RegistrationTracker } from '../analyzer/correlation/index.ts';
import { parseSip } from '../analyzer/sip/index.ts';
import { decodeHep, encodeHep, type HepPacket } from './wire.ts';
import { Intake } from '../collector/intake.ts';
import type { OutgoingRecord } from '../shared/kafka/producer.ts';
import { SipExtractor, type Item } from './pcap/extract.ts';
import { CaptureReader, type CaptureFormat } from './pcap/reader.ts';

export interface ImportOptions {
  readonly path: string;
  readonly topicPrefix: string;
  readonly shiftToNow?: boolean;
  /** Pace at this multiple of the captured rate; undefined: as fast as possible. */
  readonly speed?: number;
  readonly send: (batch: readonly OutgoingRecord[]) => Promise<void>;
  readonly onProgress?: (p: ImportProgress) => void;
  readonly progressEveryMs?: number;
  readonly chunkBytes?: number;
  readonly batchRecords?: number;
}

export interface ImportProgress {
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly packets: number;
  readonly sipMessages: number;
  readonly published: number;
}

export interface ImportSummary {
  readonly file: string;
  readonly format: CaptureFormat | undefined;
  readonly bytes: number;
  readonly packets: number;
  readonly sipMessages: number;
  readonly hepPackets: number;
  readonly published: number;
  readonly calls: number;
  readonly registrations: number;
  readonly skipped: Record<string, number>;
  readonly captureId: number;
  readonly node: string;
  readonly firstTsUs: number | undefined;
  readonly lastTsUs: number | undefined;
  readonly shiftedByUs: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
}

/** FNV-1a of the file name: a stable HEP capture id (chunk 12) per imported file. */
export function captureIdFor(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name, 'utf8')) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h;
}

async function* chunks(path: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(buf, 0, size, null);
      if (bytesRead === 0) return;
      yield bytesRead === size ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** First and last frame times, for `shiftToNow`. */
async function timeRange(path: string, chunkBytes: number): Promise<{ first: number | undefined; last: number | undefined }> {
  const r = new CaptureReader();
  let first: number | undefined;
  let last: number | undefined;
  for await (const c of chunks(path, chunkBytes)) {
    for (const f of r.push(c)) {
      first ??= f.tsUs;
      last = last === undefined ? f.tsUs : Math.max(last, f.tsUs);
    }
  }
  return { first, last };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function importCapture(o: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const chunkBytes = o.chunkBytes ?? 1024 * 1024;
  const batchMax = o.batchRecords ?? 1000;
  const name = basename(o.path);
  const captureId = captureIdFor(name);
  const node = `pcap:${name}`.slice(0, 255);
  const { size: totalBytes } = await stat(o.path);
  if (o.speed !== undefined && !(o.speed > 0)) throw new RangeError(`speed must be a positive number, got ${o.speed}`);

  let shift = 0;
  if (o.shiftToNow === true) {
    const range = await timeRange(o.path, chunkBytes);
    const nowUs = Date.now() * 1000;
    if (range.first !== undefined && range.last !== undefined) shift = (o.speed !== undefined ? nowUs - range.first : nowUs - range.last);
  }

  const intake = new Intake({ topicPrefix: o.topicPrefix, timestampSkewMs: 5_000 });
  const sender = Intake.sender('127.0.0.1', 0, { family: 4, addr: Buffer.from([127, 0, 0, 1]), port: 0 }, true);
  const reader = new CaptureReader();
  const ex = new SipExtractor();
  const dialogs = new DialogTracker();
  const regs = new RegistrationTracker();
  let calls = 0;
  let registrations = 0;
  let published = 0;
  let seq = 0;
  let batch: OutgoingRecord[] = [];
  let firstTs: number | undefined;
  let lastTs: number | undefined;
  let bytesRead = 0;
  let lastProgress = performance.now();
  const wallStart = Date.now();

  const flush = async () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await o.send(b);
    published += b.length;
  };

  const track = (payload: Buffer, p: HepPacket, tsUs: number) => {
    const parsed = parseSip(payload);
    if (!parsed.ok) return;
    const ob = {
      message: parsed.message, tsUs, srcIp: p.srcIp, srcPort: p.srcPort, dstIp: p.dstIp, dstPort: p.dstPort,
      transport: p.protocol === 6 ? 'TCP' : 'UDP', captureId: p.captureId, node: p.nodeName ?? '', seq: seq++,
      ...(p.correlationId !== undefined ? { correlationId: p.correlationId } : {}),
    };
    calls += dialogs.observe(ob).length;
    registrations += regs.observe(ob).length;
  };

  const emit = async (it: Item) => {
    let hep: Buffer;
    let tsUs: number;
    if (it.kind === 'sip') {
      tsUs = it.tsUs + shift;
      const p: HepPacket = {
        version: 3, ipFamily: it.family, protocol: it.transport === 'tcp' ? 6 : 17,
        srcIp: it.src, dstIp: it.dst, srcPort: it.srcPort, dstPort: it.dstPort,
        timestampSec: Math.floor(tsUs / 1_000_000), timestampUsec: ((tsUs % 1_000_000) + 1_000_000) % 1_000_000,
        payloadType: 1, captureId, nodeName: node, payload: it.payload,
      };
      hep = encodeHep(p);
      track(it.payload, p, tsUs);
    } else {
      const p = decodeHep(it.bytes);
      tsUs = p.timestampSec * 1_000_000 + p.timestampUsec + shift;
      if (shift !== 0) {
        hep = encodeHep({ ...p, timestampSec: Math.floor(tsUs / 1_000_000), timestampUsec: ((tsUs % 1_000_000) + 1_000_000) % 1_000_000 });
      } else {
        hep = it.bytes;
      }
      if (p.payloadType === 1 && p.compressed !== true) track(p.payload, p, tsUs);
    }
    if (o.speed !== undefined && firstTs !== undefined) {
      const due = wallStart + (tsUs - firstTs) / 1000 / o.speed;
      const wait = due - Date.now();
      if (wait > 0) {
        await flush();
        await sleep(wait);
      }
    }
    firstTs ??= tsUs;
    lastTs = tsUs;
    const rec = intake.process(hep, sender, process.hrtime.bigint(), 'udp');
    if (typeof rec === 'string') {
      ex.skip(`hep_${rec}`);
      return;
    }
    batch.push({ topic: rec.topic, key: rec.key, value: rec.value, headers: rec.headers });
    if (batch.length >= batchMax) await flush();
  };

  for await (const chunk of chunks(o.path, chunkBytes)) {
    bytesRead += chunk.length;
    for (const f of reader.push(chunk)) {
      for (const it of ex.frame(f)) await emit(it);
    }
    const now = performance.now();
    if (o.onProgress !== undefined && now - lastProgress >= (o.progressEveryMs ?? 1000)) {
      lastProgress = now;
      o.onProgress({ bytesRead, totalBytes, packets: ex.frames, sipMessages: ex.sip, published: published + batch.length });
    }
  }
  reader.finish();
  ex.finish();
  await flush();
  if (reader.truncated > 0) ex.skip('truncated_record', reader.truncated);
  if (reader.skippedBlocks > 0) ex.skip('pcapng_blocks_without_packets', reader.skippedBlocks);
  calls += dialogs.advanceTo(Number.MAX_SAFE_INTEGER).length;
  registrations += regs.advanceTo(Number.MAX_SAFE_INTEGER).length;
  o.onProgress?.({ bytesRead, totalBytes, packets: ex.frames, sipMessages: ex.sip, published });
  const seconds = (performance.now() - started) / 1000;
  return {
    file: o.path, format: reader.format, bytes: totalBytes, packets: ex.frames, sipMessages: ex.sip, hepPackets: ex.hep,
    published, calls, registrations, skipped: Object.fromEntries([...ex.skipped].sort((a, b) => b[1] - a[1])),
    captureId, node, firstTsUs: firstTs, lastTsUs: lastTs, shiftedByUs: shift, seconds,
    messagesPerSecond: seconds > 0 ? published / seconds : 0,
  };
}
