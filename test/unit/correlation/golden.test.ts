/** The trackers against the golden run recorded from the build before the allocation work (issue 12): same
 * records, byte for byte, same snapshots, and the old snapshots restore into this build and finish the stream
 * with the same records as an uninterrupted run. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DialogTracker, RegistrationTracker } from '../../../services/analyzer/correlation/index.ts';
import { CUTS, END, goldenStream, runGolden, sha256, type Golden } from './golden-stream.ts';

const golden = JSON.parse(readFileSync(new URL('../../fixtures/correlation-golden.json', import.meta.url), 'utf8')) as Golden;
const stream = goldenStream();

test('records and snapshots equal the golden run', () => {
  const now = runGolden(stream);
  assert.equal(now.messages, golden.messages);
  assert.equal(now.calls, golden.calls);
  assert.equal(now.registrations, golden.registrations);
  assert.equal(now.callsSha256, golden.callsSha256);
  assert.equal(now.registrationsSha256, golden.registrationsSha256);
  assert.deepStrictEqual(now.snapshots, golden.snapshots);
});

test('an old snapshot restores and finishes the stream with the uninterrupted records', () => {
  for (const snap of golden.snapshots) {
    const cut = Math.floor(snap.cut * stream.length);
    assert.ok(CUTS.includes(snap.cut));
    const d = new DialogTracker();
    const r = new RegistrationTracker();
    const calls: unknown[] = [];
    const regs: unknown[] = [];
    for (const o of stream.slice(0, cut)) {
      calls.push(...d.observe(o));
      regs.push(...r.observe(o));
    }
    const d2 = new DialogTracker();
    const r2 = new RegistrationTracker();
    d2.restore(snap.dialogs);
    r2.restore(snap.registrations);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(d2.snapshot())), snap.dialogs);
    for (const o of stream.slice(cut)) {
      calls.push(...d2.observe(o));
      regs.push(...r2.observe(o));
    }
    calls.push(...d2.advanceTo(END));
    regs.push(...r2.advanceTo(END));
    assert.equal(sha256(calls), golden.callsSha256, `calls after restoring the snapshot at ${snap.cut}`);
    assert.equal(sha256(regs), golden.registrationsSha256, `registrations after restoring the snapshot at ${snap.cut}`);
  }
});
