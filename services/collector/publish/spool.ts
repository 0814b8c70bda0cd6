/**
 * An append-only disk spool for capture records that Kafka could not take yet.
 *
 * Layout: `seg-000000001.spool`, `seg-000000002.spool`, ... each starting with an 8-byte magic, then record frames
 * (see codec.ts). A `cursor` file holds the read position (segment number and byte offset) of the first record not
 * yet acknowledged by Kafka. Segments below the cursor are deleted; a segment is deleted as soon as all of its records
 * are acknowledged.
 *
 * Durability (`fsync` option):
 * - A process crash (kill -9, OOM, uncaught exception) loses nothing that `append()` resolved for, under any
 *   policy: the bytes are in the kernel's page cache once `write()` returns.
 * - A power failure or kernel crash loses: nothing under `always` (each append resolves after fdatasync);
 *   up to the last `<ms>` of appends under `interval:<ms>` (default 100 ms); whatever the kernel had not written
 *   back under `never` (on Linux typically up to 30 s). `close()` syncs under every policy.
 * - The cursor is written after each `ack()`. If it is lost or stale, the spool replays from an earlier record:
 *   records are re-sent (duplicates), never skipped.
 *
 * A torn tail (crash mid-write) or a corrupt frame is detected by length and CRC, counted in `stats`, and the
 * segment is truncated at the last good frame. Every operation runs on one serial chain, so reads, appends and acks
 * never interleave inside a segment.
 */
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { TollgateError } from '../../shared/errors.ts';
import { decodeFrame, encodeFrame, FRAME_HEADER_BYTES } from './codec.ts';
import { SpoolErrors } from './errors.ts';
import type { CaptureRecord } from './record.ts';

export type FsyncPolicy = 'always' | 'never' | `interval:${number}`;

export interface DiskSpoolOptions {
  readonly dir: string;
  /** Bound on unacknowledged bytes (frames included); `append` beyond it fails with TG_SPOOL_FULL. Default 1 GiB. */
  readonly maxBytes?: number;
  /** A segment is closed and a new one started past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Default `interval:100`. */
  readonly fsync?: FsyncPolicy;
  /** Frames announcing a larger payload are treated as corrupt. Default 16 MiB. */
  readonly maxRecordBytes?: number;
  readonly log?: Logger;
}

export interface SpoolStats {
  /** Segments and records found by `open()`. */
  readonly recoveredSegments: number;
  readonly recoveredRecords: number;
  /** Times a torn or corrupt frame was found (at open or while reading). */
  readonly corruptions: number;
  /** Bytes cut off at those places. */
  readonly truncatedBytes: number;
  /** Complete records lost behind a corrupt frame found while reading (counts known from this process's writes). */
  readonly lostRecords: number;
}

interface Segment {
  readonly no: number;
  readonly path: string;
  /** Bytes of valid data on disk, magic included. */
  bytes: number;
  /** Valid records in the file, consumed ones included. */
  records: number;
}

interface Position {
  readonly segNo: number;
  readonly end: number;
}

interface PendingGroup {
  readonly frames: Buffer[];
  bytes: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

const MAGIC = Buffer.from('TGSPOOL1', 'latin1');
const SEGMENT_RE = /^seg-(\d{9})\.spool$/;
const CURSOR = 'cursor';

export function parseFsyncPolicy(policy: FsyncPolicy): { kind: 'always' | 'never' } | { kind: 'interval'; ms: number } {
  if (policy === 'always' || policy === 'never') return { kind: policy };
  const m = /^interval:(\d+)$/.exec(policy);
  const ms = m ? Number(m[1]) : NaN;
  if (!(ms > 0)) throw new TollgateError(SpoolErrors.badOptions, `fsync policy ${String(policy)} is not always | never | interval:<ms>`);
  return { kind: 'interval', ms };
}

const segName = (no: number): string => `seg-${String(no).padStart(9, '0')}.spool`;

export class DiskSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #segmentBytes: number;
  readonly #maxRecordBytes: number;
  readonly #fsync: ReturnType<typeof parseFsyncPolicy>;
  readonly #log: Logger | undefined;

  #segments: Segment[] = [];
  /** Byte offset and consumed records inside `#segments[0]`. */
  #headOffset = 0;
  #headConsumed = 0;
  #nextSegNo = 1;
  #tailFh: FileHandle | undefined;
  #tailNo = 0;
  #dirty = false;
  #liveBytes = 0;
  #liveRecords = 0;
  #pending: PendingGroup | undefined;
  #chain: Promise<void> = Promise.resolve();
  /** End positions of the records returned by the last `readBatch`, so `ack` need not read them again. */
  #lastRead: Position[] = [];
  #timer: NodeJS.Timeout | undefined;
  #opened = false;
  /** After a restart the last recovered segment takes appends while it has room; only for the first segment opened. */
  #reuseLast = false;
  #closed = false;
  #failed: Error | undefined;
  #stats = { recoveredSegments: 0, recoveredRecords: 0, corruptions: 0, truncatedBytes: 0, lostRecords: 0 };

  constructor(opts: DiskSpoolOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 1024 ** 3;
    this.#segmentBytes = opts.segmentBytes ?? 64 * 1024 ** 2;
    this.#maxRecordBytes = opts.maxRecordBytes ?? 16 * 1024 ** 2;
    this.#fsync = parseFsyncPolicy(opts.fsync ?? 'interval:100');
    this.#log = opts.log;
    if (!(this.maxBytes > 0) || !(this.#segmentBytes > MAGIC.length) || !(this.#maxRecordBytes > 0)) {
      throw new TollgateError(SpoolErrors.badOptions, 'maxBytes, segmentBytes and maxRecordBytes must be positive', {
        maxBytes: this.maxBytes,
        segmentBytes: this.#segmentBytes,
      });
    }
  }

  /** Unacknowledged bytes, including appends not yet on disk. */
  get sizeBytes(): number {
    return this.#liveBytes;
  }

  /** Unacknowledged records, including appends not yet on disk. */
  get records(): number {
    return this.#liveRecords;
  }

  get freeBytes(): number {
    return this.maxBytes - this.#liveBytes;
  }

  /** Appends are refused for good after a write that could not be rolled back. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  get stats(): SpoolStats {
    return { ...this.#stats };
  }

  /** Recovers what a previous process left: deletes acknowledged segments, truncates torn tails. */
  async open(): Promise<SpoolStats> {
    if (this.#opened) return this.stats;
    this.#opened = true;
    await mkdir(this.dir, { recursive: true });
    const cursor = await this.#readCursor();
    const names = (await readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let maxNo = cursor?.segNo ?? 0;
    for (const name of names) {
      const no = Number(SEGMENT_RE.exec(name)![1]);
      maxNo = Math.max(maxNo, no);
      const path = join(this.dir, name);
      if (cursor !== undefined && no < cursor.segNo) {
        await rm(path, { force: true });
        continue;
      }
      const seg = await this.#recoverSegment(no, path);
      if (seg === undefined) continue;
      if (this.#segments.length === 0 && cursor !== undefined && no === cursor.segNo) {
        this.#placeHead(seg, await readFile(path), cursor.end);
      }
      this.#segments.push(seg);
    }
    this.#nextSegNo = maxNo + 1;
    this.#reuseLast = this.#segments.length > 0;
    if (this.#segments.length > 0 && this.#headOffset === 0) this.#headOffset = MAGIC.length;
    // Fully consumed segments ahead of the first live record (a crash between cursor write and unlink).
    while (this.#segments.length > 1 && this.#headOffset >= this.#segments[0]!.bytes) {
      await rm(this.#segments.shift()!.path, { force: true });
      this.#headOffset = MAGIC.length;
      this.#headConsumed = 0;
    }
    for (const [i, s] of this.#segments.entries()) {
      this.#liveRecords += s.records - (i === 0 ? this.#headConsumed : 0);
      this.#liveBytes += s.bytes - (i === 0 ? this.#headOffset : MAGIC.length);
    }
    this.#stats.recoveredSegments = this.#segments.length;
    this.#stats.recoveredRecords = this.#liveRecords;
    if (this.#fsync.kind === 'interval') {
      this.#timer = setInterval(() => {
        if (this.#dirty) this.#enqueue(() => this.#sync()).catch((err: unknown) => this.#log?.error({ err }, 'spool fsync failed'));
      }, this.#fsync.ms);
      this.#timer.unref();
    }
    return this.stats;
  }

  /**
   * Encodes and reserves room now (so the byte bound is decided synchronously and appends keep call order);
   * resolves once the records are written (and synced under `always`). All-or-nothing: rejects with TG_SPOOL_FULL
   * without writing anything if the records do not fit.
   */
  append(records: readonly CaptureRecord[]): Promise<void> {
    if (this.#closed || !this.#opened) return Promise.reject(new TollgateError(SpoolErrors.closed, 'spool is not open'));
    if (this.#failed !== undefined) {
      return Promise.reject(new TollgateError(SpoolErrors.failed, 'spool refuses appends after an unrecoverable write error', {}, { cause: this.#failed }));
    }
    if (records.length === 0) return Promise.resolve();
    let frames: Buffer[];
    try {
      frames = records.map(encodeFrame);
    } catch (err) {
      return Promise.reject(err);
    }
    let bytes = 0;
    for (const f of frames) bytes += f.length;
    if (this.#liveBytes + bytes > this.maxBytes) {
      return Promise.reject(new TollgateError(SpoolErrors.full, `spool holds ${this.#liveBytes} of ${this.maxBytes} bytes; ${bytes} more do not fit`, { bytes }));
    }
    this.#liveBytes += bytes;
    this.#liveRecords += frames.length;
    let group = this.#pending;
    if (group === undefined) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      group = { frames: [], bytes: 0, done, resolve, reject };
      this.#pending = group;
      const g = group;
      this.#enqueue(() => this.#writeGroup(g)).then(g.resolve, g.reject);
    }
    for (const f of frames) group.frames.push(f);
    group.bytes += bytes;
    return group.done;
  }

  /** The first `max` unacknowledged records (at most `maxBytes` of frames, but always at least one), in order. */
  readBatch(max: number, maxBytes = Number.POSITIVE_INFINITY): Promise<CaptureRecord[]> {
    return this.#enqueue(async () => {
      const { records, positions } = await this.#read(max, maxBytes);
      this.#lastRead = positions;
      return records;
    });
  }

  /** Removes the first `n` records; deletes segments that are fully acknowledged; persists the read position. */
  ack(n: number): Promise<void> {
    return this.#enqueue(async () => {
      if (n <= 0) return;
      if (n > this.#liveRecords - (this.#pending?.frames.length ?? 0)) {
        throw new TollgateError(SpoolErrors.badAck, `ack(${n}) but only ${this.#liveRecords} records are spooled`, { n });
      }
      let target = this.#lastRead[n - 1];
      if (target === undefined) target = (await this.#read(n, Number.POSITIVE_INFINITY)).positions[n - 1];
      this.#lastRead = this.#lastRead.slice(n);
      if (target === undefined) throw new TollgateError(SpoolErrors.badAck, `ack(${n}) ran past the readable records`, { n });
      await this.#advanceTo(target, n);
    });
  }

  /** Waits for pending appends, syncs, closes files. Later calls return at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#enqueue(async () => {
      await this.#sync();
      await this.#closeTail();
    });
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  async #readCursor(): Promise<Position | undefined> {
    const text = await readFile(join(this.dir, CURSOR), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new TollgateError(SpoolErrors.io, `cannot read spool cursor: ${err.message}`, {}, { cause: err });
    });
    if (text === undefined) return undefined;
    try {
      const c = JSON.parse(text) as { segment?: unknown; offset?: unknown };
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) return { segNo: c.segment as number, end: c.offset as number };
    } catch {
      // A torn cursor (power loss during the rename window) falls through to a replay from the oldest segment.
    }
    this.#stats.corruptions++;
    this.#log?.warn({ dir: this.dir }, 'spool cursor unreadable; replaying from the oldest segment');
    return undefined;
  }

  async #writeCursor(pos: Position): Promise<void> {
    const tmp = join(this.dir, `${CURSOR}.tmp`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ segment: pos.segNo, offset: pos.end }));
      if (this.#fsync.kind === 'always') await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, CURSOR));
  }

  /** Scans a whole segment; keeps the valid prefix and truncates the rest. Undefined when nothing usable is left. */
  async #recoverSegment(no: number, path: string): Promise<Segment | undefined> {
    const buf = await readFile(path);
    if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      if (buf.length >= MAGIC.length) {
        // Not our format: keep it for a human rather than delete data we do not understand.
        await rename(path, `${path}.corrupt`);
      } else {
        await rm(path, { force: true });
      }
      this.#stats.corruptions++;
      this.#stats.truncatedBytes += buf.length;
      this.#log?.warn({ segment: path, bytes: buf.length }, 'spool segment without a valid header set aside');
      return undefined;
    }
    let off = MAGIC.length;
    let records = 0;
    while (off < buf.length) {
      const f = decodeFrame(buf, off, this.#maxRecordBytes);
      if (f.kind !== 'record') {
        this.#stats.corruptions++;
        this.#stats.truncatedBytes += buf.length - off;
        this.#log?.warn({ segment: path, offset: off, cut: buf.length - off, why: f.kind === 'corrupt' ? f.why : 'torn tail' }, 'spool segment truncated at the last complete record');
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(off);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        break;
      }
      off = f.end;
      records++;
    }
    return { no, path, bytes: off, records };
  }

  /** The cursor is trusted only if it sits on a frame boundary; otherwise the whole segment is replayed. */
  #placeHead(seg: Segment, buf: Buffer, cursorEnd: number): void {
    let off = MAGIC.length;
    let consumed = 0;
    while (off < cursorEnd && off < seg.bytes) {
      const f = decodeFrame(buf, off, this.#maxRecordBytes);
      if (f.kind !== 'record') break;
      off = f.end;
      consumed++;
    }
    if (off === cursorEnd) {
      this.#headOffset = off;
      this.#headConsumed = consumed;
    } else {
      this.#stats.corruptions++;
      this.#log?.warn({ segment: seg.path, offset: cursorEnd }, 'spool cursor off a record boundary; replaying the segment');
    }
  }

  async #writeGroup(group: PendingGroup): Promise<void> {
    if (this.#pending === group) this.#pending = undefined;
    const last = this.#segments.at(-1);
    const before = { lastNo: last?.no, lastBytes: last?.bytes ?? 0 };
    const createdSegs: Segment[] = [];
    try {
      let i = 0;
      while (i < group.frames.length) {
        let seg = this.#writableTail();
        if (seg === undefined || (seg.bytes + group.frames[i]!.length > this.#segmentBytes && seg.records > 0)) {
          const opened = await this.#newSegment();
          seg = opened.seg;
          if (opened.created) createdSegs.push(seg);
        }
        const chunk: Buffer[] = [];
        let size = 0;
        let n = 0;
        while (i < group.frames.length) {
          const f = group.frames[i]!;
          if (n > 0 && seg.bytes + size + f.length > this.#segmentBytes) break;
          chunk.push(f);
          size += f.length;
          n++;
          i++;
        }
        await this.#writeAll(Buffer.concat(chunk, size));
        seg.bytes += size;
        seg.records += n;
        this.#dirty = true;
      }
      if (this.#fsync.kind === 'always') await this.#sync();
    } catch (err) {
      this.#liveBytes -= group.bytes;
      this.#liveRecords -= group.frames.length;
      await this.#rollback(before, createdSegs, err);
      throw new TollgateError(SpoolErrors.io, `spool write failed: ${(err as Error).message}`, {}, { cause: err });
    }
  }

  /** Puts the files back as they were before a failed group, so no half-written frame sits before later appends. */
  async #rollback(before: { lastNo: number | undefined; lastBytes: number }, created: Segment[], cause: unknown): Promise<void> {
    try {
      await this.#closeTail();
      for (const s of created) await rm(s.path, { force: true });
      this.#segments = this.#segments.filter((s) => !created.includes(s));
      if (this.#segments.length === 0) {
        this.#headOffset = MAGIC.length;
        this.#headConsumed = 0;
      }
      const last = this.#segments.at(-1);
      if (last !== undefined && last.no === before.lastNo) {
        const fh = await open(last.path, 'r+');
        try {
          await fh.truncate(before.lastBytes);
        } finally {
          await fh.close();
        }
        last.bytes = before.lastBytes;
      }
    } catch (err) {
      this.#failed = err instanceof Error ? err : new Error(String(err));
      this.#log?.error({ err, cause }, 'spool could not roll back a failed write; refusing further appends');
    }
  }

  #writableTail(): Segment | undefined {
    const last = this.#segments.at(-1);
    return last !== undefined && last.no === this.#tailNo && this.#tailFh !== undefined ? last : undefined;
  }

  async #newSegment(): Promise<{ seg: Segment; created: boolean }> {
    const last = this.#segments.at(-1);
    const reuse = this.#reuseLast;
    this.#reuseLast = false;
    if (reuse && this.#tailFh === undefined && last !== undefined && last.bytes < this.#segmentBytes) {
      this.#tailFh = await open(last.path, 'a');
      this.#tailNo = last.no;
      return { seg: last, created: false };
    }
    await this.#sync();
    await this.#closeTail();
    const no = this.#nextSegNo++;
    const path = join(this.dir, segName(no));
    const fh = await open(path, 'wx');
    this.#tailFh = fh;
    this.#tailNo = no;
    await this.#writeAll(MAGIC);
    const seg: Segment = { no, path, bytes: MAGIC.length, records: 0 };
    if (this.#segments.length === 0) {
      this.#headOffset = MAGIC.length;
      this.#headConsumed = 0;
    }
    this.#segments.push(seg);
    if (this.#fsync.kind !== 'never') await this.#syncDir();
    return { seg, created: true };
  }

  async #writeAll(buf: Buffer): Promise<void> {
    const fh = this.#tailFh!;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  }

  async #sync(): Promise<void> {
    if (this.#tailFh === undefined || !this.#dirty) return;
    this.#dirty = false;
    await this.#tailFh.datasync();
  }

  async #syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async #closeTail(): Promise<void> {
    const fh = this.#tailFh;
    this.#tailFh = undefined;
    this.#tailNo = 0;
    await fh?.close();
  }

  async #read(max: number, maxBytes: number): Promise<{ records: CaptureRecord[]; positions: Position[] }> {
    const records: CaptureRecord[] = [];
    const positions: Position[] = [];
    let bytes = 0;
    for (let si = 0; si < this.#segments.length && records.length < max && bytes < maxBytes; si++) {
      const seg = this.#segments[si]!;
      let off = si === 0 ? this.#headOffset : MAGIC.length;
      let parsedHere = 0;
      const fh = await open(seg.path, 'r');
      try {
        while (off < seg.bytes && records.length < max && bytes < maxBytes) {
          const want = Math.min(seg.bytes - off, Math.max(FRAME_HEADER_BYTES, Math.min(maxBytes - bytes, 4 * 1024 ** 2)));
          let buf = Buffer.allocUnsafe(want);
          await readFully(fh, buf, off);
          let pos = 0;
          let progressed = false;
          while (pos < buf.length && records.length < max && bytes < maxBytes) {
            const f = decodeFrame(buf, pos, this.#maxRecordBytes);
            if (f.kind === 'incomplete') {
              if (progressed || off + f.need > seg.bytes) {
                if (!progressed) {
                  await this.#cutSegment(si, seg, off, parsedHere, 'frame runs past the written data');
                  return { records, positions };
                }
                break;
              }
              buf = Buffer.allocUnsafe(f.need);
              await readFully(fh, buf, off);
              continue;
            }
            if (f.kind === 'corrupt') {
              await this.#cutSegment(si, seg, off + pos, parsedHere, f.why);
              return { records, positions };
            }
            records.push(f.record);
            bytes += f.end - pos;
            positions.push({ segNo: seg.no, end: off + f.end });
            pos = f.end;
            parsedHere++;
            progressed = true;
          }
          off += pos;
        }
      } finally {
        await fh.close();
      }
    }
    return { records, positions };
  }

  /** Corruption found after open: drop the rest of the segment (never replay garbage) and count what it held. */
  async #cutSegment(si: number, seg: Segment, at: number, parsedHere: number, why: string): Promise<void> {
    const consumedBefore = (si === 0 ? this.#headConsumed : 0) + parsedHere;
    const lost = seg.records - consumedBefore;
    this.#stats.corruptions++;
    this.#stats.truncatedBytes += seg.bytes - at;
    this.#stats.lostRecords += lost;
    this.#liveBytes -= seg.bytes - at;
    this.#liveRecords -= lost;
    this.#log?.error({ segment: seg.path, offset: at, lost, why }, 'corrupt spool frame; segment cut at the last good record');
    const fh = await open(seg.path, 'r+');
    try {
      await fh.truncate(at);
    } finally {
      await fh.close();
    }
    seg.bytes = at;
    seg.records = consumedBefore;
    // Appending after a cut could hide the cut from a later recovery scan; new appends go to a fresh segment.
    if (seg.no === this.#tailNo) await this.#closeTail();
  }

  async #advanceTo(target: Position, n: number): Promise<void> {
    while (this.#segments.length > 0 && this.#segments[0]!.no < target.segNo) {
      const seg = this.#segments.shift()!;
      this.#headConsumed = 0;
      this.#headOffset = MAGIC.length;
      if (seg.no === this.#tailNo) await this.#closeTail();
      await rm(seg.path, { force: true });
    }
    const head = this.#segments[0];
    if (head === undefined) throw new TollgateError(SpoolErrors.badAck, 'ack target segment is gone', { segment: target.segNo });
    // Records in the removed segments plus those in the head up to the target.
    this.#liveRecords -= n;
    this.#headOffset = target.end;
    this.#liveBytes = this.#recountBytes();
    this.#headConsumed = this.#countConsumedHead();
    await this.#writeCursor(target);
    // Pending appends are queued behind this operation, so deleting a consumed tail is safe: they open a new one.
    if (this.#headOffset >= head.bytes) {
      this.#segments.shift();
      if (head.no === this.#tailNo) await this.#closeTail();
      await rm(head.path, { force: true });
      this.#headOffset = MAGIC.length;
      this.#headConsumed = 0;
    }
  }

  #recountBytes(): number {
    let b = this.#pending?.bytes ?? 0;
    for (const [i, s] of this.#segments.entries()) b += s.bytes - (i === 0 ? this.#headOffset : MAGIC.length);
    return b;
  }

  /** Consumed records in the head segment, derived from the live count so no frame has to be re-read. */
  #countConsumedHead(): number {
    const head = this.#segments[0];
    if (head === undefined) return 0;
    let later = this.#pending?.frames.length ?? 0;
    for (let i = 1; i < this.#segments.length; i++) later += this.#segments[i]!.records;
    return head.records - (this.#liveRecords - later);
  }
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new TollgateError(SpoolErrors.io, `spool segment shorter than its index (${position + off})`);
    off += bytesRead;
  }
}
