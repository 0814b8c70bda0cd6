/**
 * CGRateS stopped (the real process, SIGTERM) while calls come in: prepaid refused before answer (the default
 * policy), postpaid let through and rated once CGRateS is back (same address, tariff reloaded), prepaid with
 * fail-open let through capped and rated later. Nothing lost, nothing rated twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, waitFor, type CgratesEngine } from '../support/cgrates.ts';
import { startEslEmulator, type EslEmulator } from '../support/esl-emulator.ts';
import { ratingDatabase, startRatingService, type RatingDb, type RatingHarness } from '../support/rating-harness.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping rating outage test: ${skip}\n`);

describe('rating while CGRateS is down', { skip }, () => {
  let fs: EslEmulator;
  let fsOpen: EslEmulator;
  let cgr: CgratesEngine;
  let db: RatingDb;
  let h: RatingHarness;
  let hOpen: RatingHarness;

  before(async () => {
    [fs, fsOpen, cgr, db] = await Promise.all([startEslEmulator({ switchname: 'fs1' }), startEslEmulator({ switchname: 'fs-open' }), startCgrates(), ratingDatabase()]);
    h = await startRatingService({ nodes: [{ name: 'fs1', port: fs.port }], cgratesUrl: cgr.tcpUrl, db });
    hOpen = await startRatingService({
      nodes: [{ name: 'fs-open', port: fsOpen.port }], cgratesUrl: cgr.tcpUrl, db,
      overrides: { policy: { prepaidFailOpen: true, failOpenMaxMs: 2_000, refuseCause: 'OUTGOING_CALL_BARRED' } },
    });
    await waitFor(() => h.service.clients.get('fs1')!.connected && hOpen.service.clients.get('fs-open')!.connected, 5_000, 'connections');
  });
  after(async () => {
    await h?.stop();
    await hOpen?.stop();
    await cgr?.stop();
    await fs?.close();
    await fsOpen?.close();
    await db?.drop();
  });

  it('refuses prepaid, lets postpaid through, rates it when CGRateS is back; fail-open caps and rates later', async () => {
    const ports = cgr.ports;
    await cgr.stop();

    const pre = fs.originate({ account: '1003', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 1_000 });
    const post = fs.originate({ account: '1004', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 50, talkMs: 1_500 });
    const open = fsOpen.originate({ account: '1005', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 10_000 });
    await waitFor(() => [fs.channels.get(pre)!, fs.channels.get(post)!, fsOpen.channels.get(open)!].every((c) => c.state === 'hungup'), 8_000, 'the three calls to end');

    const preCh = fs.channels.get(pre)!;
    assert.equal(preCh.answeredUs, 0, 'prepaid never answered');
    assert.equal(preCh.hangupCause, 'OUTGOING_CALL_BARRED');
    assert.equal(preCh.vars.get('cgr_notify'), 'RATING_UNAVAILABLE');
    assert.ok(fs.channels.get(post)!.answeredUs > 0, 'postpaid answered');
    const openCh = fsOpen.channels.get(open)!;
    assert.equal(openCh.hangupCause, 'ALLOTTED_TIMEOUT', 'fail-open call cut at its cap');
    assert.ok(Math.abs((openCh.hangupUs - openCh.answeredUs) / 1e6 - 2) <= 1);

    const pending = await h.cdrs('unique_id = {u:String}', { u: post });
    assert.equal(pending[0]!['rating_status'], 'pending');
    assert.equal(pending[0]!['cost'], null);
    const refused = await h.cdrs('unique_id = {u:String}', { u: pre });
    assert.equal(refused[0]!['decision'], 'cgrates_unavailable');
    assert.equal(refused[0]!['disposition'], 'refused');

    // CGRateS back on the same address; its internal DBs are empty, so the tariff is loaded again.
    cgr = await startCgrates({ ports });
    await waitFor(async () => (await h.cdrs('unique_id IN {u:Array(String)} AND rating_status = {s:String}', { u: [post, open], s: 'rated' })).length === 2, 15_000, 'both deferred CDRs rated');
    const rows = await h.cdrs('unique_id IN {u:Array(String)}', { u: [post, open] });
    for (const r of rows) {
      const [cg] = await cgr.cdrs({ OriginIDs: [String(r['unique_id'])] });
      assert.equal(Number(r['cost']), cg!.Cost);
      assert.ok(Number(r['rating_attempts']) >= 1);
    }
    const postRow = rows.find((r) => r['unique_id'] === post)!;
    const openRow = rows.find((r) => r['unique_id'] === open)!;
    assert.equal(Math.round((10 - (await cgr.balance('1004'))) * 1e4) / 1e4, Number(postRow['cost']));
    assert.equal(Math.round((10 - (await cgr.balance('1005'))) * 1e4) / 1e4, Number(openRow['cost']), 'fail-open prepaid charged once');
    process.stderr.write(`[rating] CGRateS down: prepaid refused (${preCh.hangupCause}), postpaid answered and rated on return `
      + `(cost ${postRow['cost']}, attempts ${postRow['rating_attempts']}), fail-open prepaid cut at ${((openCh.hangupUs - openCh.answeredUs) / 1e6).toFixed(2)} s and rated (cost ${openRow['cost']})\n`);
    // Rated exactly once: another retry round changes nothing in CGRateS.
    await h.service.retryNow();
    assert.equal((await cgr.cdrs({ OriginIDs: [post] })).length, 1);
    assert.equal(Math.round((10 - (await cgr.balance('1004'))) * 1e4) / 1e4, Number(postRow['cost']));
  });
});
