import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32, decodeFrame, encodeFrame, tableCrc32 } from '../../../services/collector/publish/codec.ts';
import { DiskSpool, SpoolErrors } from '../../../services/collector/publish/index.ts';
import { idOf, isTollgateErrorCode, rec, tempDir } from './helpers.ts';

const ids = (rs: readonly { value: Buffer }[]): string[] => rs.map((r) => idOf(r as never));

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.spool')).sort();
}

describe('spool codec', () => {
  it('table CRC32 agrees with zlib', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => tableCrc32(b) === crc32(b)));
  });

  it('decodes what it encodes, byte for byte', () => {
    const arb = fc.record({
      topic: fc.string({ minLength: 1, maxLength: 40 }),
      key: fc.uint8Array({ maxLength: 64 }),
      value: fc.uint8Array({ maxLength: 2000 }),
      headers: fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 30 }), { maxKeys: 6 }),
      receivedAtNs: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    });
    fc.assert(
      fc.property(arb, (r) => {
        const rec0 = { ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) };
        const buf = encodeFrame(rec0);
        const f = decodeFrame(buf, 0, 1 << 20);
        assert.equal(f.kind, 'record');
        if (f.kind !== 'record') return;
        assert.equal(f.end, buf.length);
        assert.deepEqual({ ...f.record, headers: { ...f.record.headers } }, { ...rec0, headers: { ...rec0.headers } });
      }),
    );
  });
});

describe('DiskSpool', () => {
  it('keeps order across segment rotations and deletes acknowledged segments', async (t) => {
    const dir = await tempDir(t);
    const spool = new DiskSpool({ dir, segmentBytes: 2_000, fsync: 'never' });
    await spool.open();
    const all = Array.from({ length: 300 }, (_, i) => rec(`k${i % 7}`, i));
    for (let i = 0; i < all.length; i += 37) await spool.append(all.slice(i, i + 37));
    assert.equal(spool.records, 300);
    assert.ok((await segments(dir)).length > 5, 'rotated into several segments');
    const got: string[] = [];
    for (;;) {
      const batch = await spool.readBatch(23);
      if (batch.length === 0) break;
      assert.deepEqual(ids(await spool.readBatch(23)), ids(batch), 'readBatch does not consume');
      got.push(...ids(batch));
      await spool.ack(batch.length);
    }
    assert.deepEqual(got, ids(all));
    assert.equal(spool.records, 0);
    assert.equal(spool.sizeBytes, 0);
    assert.deepEqual(await segments(dir), [], 'fully acknowledged segments are gone');
    await spool.append([rec('again', 1)]);
    assert.deepEqual(ids(await spool.readBatch(10)), ['again:1']);
    await spool.close();
  });

  it('recovers unacknowledged records after a reopen, resuming at the persisted read position', async (t) => {
    const dir = await tempDir(t);
    const a = new DiskSpool({ dir, segmentBytes: 1_500, fsync: 'never' });
    await a.open();
    const all = Array.from({ length: 120 }, (_, i) => rec('k', i));
    await a.append(all);
    await a.readBatch(50);
    await a.ack(50);
    await a.close();
    const b = new DiskSpool({ dir, segmentBytes: 1_500, fsync: 'never' });
    const stats = await b.open();
    assert.equal(stats.recoveredRecords, 70);
    assert.equal(stats.corruptions, 0);
    assert.equal(b.records, 70);
    await b.append([rec('k', 120)]);
    const rest = await b.readBatch(1000);
    assert.deepEqual(ids(rest), [...ids(all.slice(50)), 'k:120']);
    await b.ack(rest.length);
    await b.close();
    const c = new DiskSpool({ dir, fsync: 'never' });
    assert.equal((await c.open()).recoveredRecords, 0);
    await c.close();
  });

  it('ack beyond what was read reads the rest itself', async (t) => {
    const dir = await tempDir(t);
    const s = new DiskSpool({ dir, segmentBytes: 1_000, fsync: 'always' });
    await s.open();
    await s.append(Array.from({ length: 40 }, (_, i) => rec('k', i)));
    await s.ack(25);
    assert.deepEqual(ids(await s.readBatch(3)), ['k:25', 'k:26', 'k:27']);
    await assert.rejects(s.ack(16), (e) => isTollgateErrorCode(e, 'TG_SPOOL_BAD_ACK'));
    await s.close();
  });

  it('torn tail: a cut at every offset of the last record leaves exactly the complete records', async (t) => {
    const dir = await tempDir(t);
    const src = new DiskSpool({ dir: join(dir, 'src'), fsync: 'never' });
    await src.open();
    const all = Array.from({ length: 5 }, (_, i) => rec('call', i, 'hep.sip', 20));
    await src.append(all);
    await src.close();
    const seg = (await segments(join(dir, 'src')))[0]!;
    const bytes = await readFile(join(dir, 'src', seg));
    const lastLen = encodeFrame(all[4]!).length;
    const lastStart = bytes.length - lastLen;
    for (let cut = lastStart; cut < bytes.length; cut++) {
      const d = join(dir, `cut-${cut}`);
      const s0 = new DiskSpool({ dir: d, fsync: 'never' });
      await s0.open();
      await s0.close();
      await writeFile(join(d, seg), bytes.subarray(0, cut));
      const s = new DiskSpool({ dir: d, fsync: 'never' });
      const st = await s.open();
      assert.equal(s.records, 4, `cut at ${cut}`);
      assert.equal(st.corruptions, cut === lastStart ? 0 : 1, `cut at ${cut}`);
      assert.deepEqual(ids(await s.readBatch(10)), ids(all.slice(0, 4)));
      assert.equal((await stat(join(d, seg))).size, lastStart, 'truncated to the last complete record');
      // Appends after recovery follow the good records, not the garbage.
      await s.append([rec('call', 99)]);
      assert.deepEqual(ids(await s.readBatch(10)).slice(-1), ['call:99']);
      await s.close();
    }
  });

  it('a flipped byte fails the CRC: records before it survive, nothing after it is replayed', async (t) => {
    const dir = await tempDir(t);
    const s = new DiskSpool({ dir, fsync: 'never' });
    await s.open();
    const all = Array.from({ length: 10 }, (_, i) => rec('k', i));
    await s.append(all);
    await s.close();
    const seg = join(dir, (await segments(dir))[0]!);
    const bytes = await readFile(seg);
    const frame = encodeFrame(all[0]!).length;
    const at = 8 + frame * 6 + 20; // inside record 6's payload
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x40, at);
    await writeFile(seg, bytes);
    const r = new DiskSpool({ dir, fsync: 'never' });
    const st = await r.open();
    assert.equal(st.corruptions, 1);
    assert.equal(st.truncatedBytes, frame * 4);
    assert.deepEqual(ids(await r.readBatch(100)), ids(all.slice(0, 6)));
    await r.close();
  });

  it('a foreign file named like a segment is set aside, not replayed', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'seg-000000001.spool'), 'definitely not a spool segment');
    const s = new DiskSpool({ dir, fsync: 'never' });
    const st = await s.open();
    assert.equal(st.corruptions, 1);
    assert.equal(s.records, 0);
    assert.ok((await readdir(dir)).includes('seg-000000001.spool.corrupt'));
    await s.append([rec('k', 1)]);
    assert.deepEqual(ids(await s.readBatch(5)), ['k:1']);
    await s.close();
  });

  it('refuses appends past maxBytes with TG_SPOOL_FULL, all or nothing, and takes them again after an ack', async (t) => {
    const dir = await tempDir(t);
    const one = encodeFrame(rec('k', 0)).length;
    const s = new DiskSpool({ dir, maxBytes: one * 10, fsync: 'never' });
    await s.open();
    await s.append(Array.from({ length: 8 }, (_, i) => rec('k', i)));
    await assert.rejects(s.append([rec('k', 8), rec('k', 9), rec('k', 10)]), (e) => isTollgateErrorCode(e, SpoolErrors.full.code));
    assert.equal(s.records, 8);
    await s.append([rec('k', 8), rec('k', 9)]);
    assert.equal(s.freeBytes, 0);
    await s.readBatch(3);
    await s.ack(3);
    await s.append([rec('k', 10)]);
    assert.deepEqual(ids(await s.readBatch(100)), ['k:3', 'k:4', 'k:5', 'k:6', 'k:7', 'k:8', 'k:9', 'k:10']);
    await s.close();
  });

  it('rejects a bad fsync policy', () => {
    assert.throws(() => new DiskSpool({ dir: '.', fsync: 'interval:0' }), (e) => isTollgateErrorCode(e, 'TG_SPOOL_BAD_OPTIONS'));
    assert.throws(() => new DiskSpool({ dir: '.', fsync: 'sometimes' as never }), (e) => isTollgateErrorCode(e, 'TG_SPOOL_BAD_OPTIONS'));
  });

  it('matches a FIFO model under random appends, acks and reopens', async (t) => {
    const root = await tempDir(t);
    let run = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ kind: fc.constant('ack' as const), n: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('reopen' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const dir = join(root, `run-${run++}`);
        const model: string[] = [];
        let seq = 0;
        let s = new DiskSpool({ dir, segmentBytes: 900, fsync: 'never' });
        await s.open();
        for (const o of ops) {
          if (o.kind === 'append') {
            const batch = Array.from({ length: o.n }, () => rec(`k${seq % 3}`, seq++));
            await s.append(batch);
            model.push(...ids(batch));
          } else if (o.kind === 'ack') {
            const n = Math.min(o.n, model.length);
            const head = await s.readBatch(n);
            assert.deepEqual(ids(head), model.slice(0, n));
            await s.ack(n);
            model.splice(0, n);
          } else {
            await s.close();
            s = new DiskSpool({ dir, segmentBytes: 900, fsync: 'never' });
            await s.open();
          }
          assert.equal(s.records, model.length);
        }
        assert.deepEqual(ids(await s.readBatch(10_000)), model);
        await s.close();
      }),
      { numRuns: 60 },
    );
  });
});
