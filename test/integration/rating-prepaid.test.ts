/**
 * The prepaid flow against the real CGRateS engine, through the event-socket emulator: cut at N s, refused before
 * answer, balance = tariff price = CDR cost, postpaid rated after the call, CGRateS stopped and back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, waitFor, type CgratesEngine } from '../support/cgrates.ts';
import { startEslEmulator, type EslEmulator } from '../support/esl-emulator.ts';
import { ratingDatabase, startRatingService, type RatingDb, type RatingHarness } from '../support/rating-harness.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping rating prepaid test: ${skip}\n`);

describe('prepaid rating against real CGRateS', { skip }, () => {
  let fs: EslEmulator;
  let cgr: CgratesEngine;
  let db: RatingDb;
  let h: RatingHarness;

  before(async () => {
    [fs, cgr, db] = await Promise.all([startEslEmulator({ switchname: 'fs1' }), startCgrates(), ratingDatabase()]);
    h = await startRatingService({ nodes: [{ name: 'fs1', port: fs.port }], cgratesUrl: cgr.tcpUrl, db });
    await waitFor(() => h.service.clients.get('fs1')!.connected, 5_000, 'the rating service to connect');
  });
  after(async () => {
    await h?.stop();
    await cgr?.stop();
    await fs?.close();
    await db?.drop();
  });

  it('cuts a prepaid call whose credit covers 6 s at 6 s ± 1 s, and bills exactly the credit', async () => {
    const uuid = fs.originate({ account: '1001', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 20_000 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 15_000, 'the cut-off');
    const ch = fs.channels.get(uuid)!;
    const talked = (ch.hangupUs - ch.answeredUs) / 1e6;
    process.stderr.write(`[rating] prepaid with 6 s of credit: cut after ${talked.toFixed(3)} s (${ch.hangupCause})\n`);
    assert.equal(ch.hangupCause, 'ALLOTTED_TIMEOUT');
    assert.ok(Math.abs(talked - 6) <= 1, `talked ${talked} s`);
    const own = fs.commands.filter((c) => c.line.includes(uuid)).map((c) => c.line);
    assert.deepEqual(own.slice(0, 4), [
      `api uuid_setvar ${uuid} cgr_max_usage 6`,
      `api uuid_setvar ${uuid} execute_on_answer_tollgate sched_hangup +6 ALLOTTED_TIMEOUT`,
      `api uuid_setvar ${uuid} cgr_notify AUTH_OK`,
      `api uuid_transfer ${uuid} 441632960123 XML default`,
    ]);
    await waitFor(async () => (await h.cdrs('unique_id = {u:String}', { u: uuid })).length === 1, 5_000, 'the CDR');
    const [row] = await h.cdrs('unique_id = {u:String}', { u: uuid });
    const [cgrCdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    assert.equal(row!['rating_status'], 'rated');
    assert.equal(Number(row!['cost']), cgrCdr!.Cost);
    assert.equal(await cgr.balance('1001'), 0);
    assert.equal(row!['disposition'], 'answered');
    assert.equal(row!['hangup_cause'], 'ALLOTTED_TIMEOUT');
    assert.equal(row!['sip_call_id'], `${uuid.slice(0, 12)}@192.0.2.20`);
    assert.equal(row!['decision'], 'credit');
    assert.equal(Number(row!['max_usage_ms']), 6000);
  });

  it('refuses a zero-balance prepaid account before answer with a clear cause', async () => {
    const uuid = fs.originate({ account: '1002', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 5_000 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 5_000, 'the refusal');
    const ch = fs.channels.get(uuid)!;
    assert.equal(ch.answeredUs, 0, 'never answered');
    assert.equal(ch.hangupCause, 'OUTGOING_CALL_BARRED');
    assert.deepEqual(ch.transfers, [], 'never sent back to the dialplan');
    assert.equal(ch.vars.get('cgr_notify'), 'INSUFFICIENT_CREDIT');
    const [row] = await (async () => {
      await waitFor(async () => (await h.cdrs('unique_id = {u:String}', { u: uuid })).length === 1, 5_000, 'the CDR');
      return h.cdrs('unique_id = {u:String}', { u: uuid });
    })();
    assert.equal(row!['disposition'], 'refused');
    assert.equal(row!['decision'], 'no_credit');
    assert.equal(row!['billsec'], 0);
    assert.equal(await cgr.balance('1002'), 0);
  });

  it('after a completed call the balance drops by the tariff price and the CDR cost equals CGRateS cost', async () => {
    const before = await cgr.balance('1003');
    const uuid = fs.originate({ account: '1003', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 2_300 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 5_000, 'hangup');
    await waitFor(async () => (await h.cdrs('unique_id = {u:String} AND rating_status = {s:String}', { u: uuid, s: 'rated' })).length === 1, 5_000, 'the rated CDR');
    const [row] = await h.cdrs('unique_id = {u:String}', { u: uuid });
    const ch = fs.channels.get(uuid)!;
    const billedSeconds = Math.ceil(Number(row!['billmsec']) / 1000); // 1 s increments
    const price = Math.round(billedSeconds * 0.01 * 1e4) / 1e4;
    const after = await cgr.balance('1003');
    const [cgrCdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    process.stderr.write(`[rating] 1003 talked ${((ch.hangupUs - ch.answeredUs) / 1e6).toFixed(3)} s: price ${price}, balance ${before} → ${after}, CDR cost ${row!['cost']}, CGRateS cost ${cgrCdr!.Cost}\n`);
    assert.equal(Math.round((before - after) * 1e4) / 1e4, price);
    assert.equal(Number(row!['cost']), price);
    assert.equal(cgrCdr!.Cost, price);
  });

  it('postpaid: no gate, rated after the call', async () => {
    const uuid = fs.originate({ account: '1004', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 50, talkMs: 1_200 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 5_000, 'hangup');
    const own = fs.commands.filter((c) => c.line.includes(uuid)).map((c) => c.line);
    assert.ok(!own.some((l) => l.includes('sched_hangup')), own.join(' | '));
    await waitFor(async () => (await h.cdrs('unique_id = {u:String} AND rating_status = {s:String}', { u: uuid, s: 'rated' })).length === 1, 5_000, 'the rated CDR');
    const [row] = await h.cdrs('unique_id = {u:String}', { u: uuid });
    const [cgrCdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    assert.equal(Number(row!['cost']), cgrCdr!.Cost);
    assert.equal(cgrCdr!.CostSource, '*cdrs');
  });

  it('with RATING_DEBIT_INTERVAL: debits every interval, still cut at the credit, charged exactly once', async () => {
    const fsD = await startEslEmulator({ switchname: 'fs-debit' });
    const hD = await startRatingService({ nodes: [{ name: 'fs-debit', port: fsD.port }], cgratesUrl: cgr.tcpUrl, db, overrides: { debitIntervalMs: 2_000 } });
    try {
      await waitFor(() => hD.service.clients.get('fs-debit')!.connected, 5_000, 'connection');
      const uuid = fsD.originate({ account: '1009', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 20_000 });
      await waitFor(() => fsD.channels.get(uuid)!.state === 'hungup', 15_000, 'the cut-off');
      const ch = fsD.channels.get(uuid)!;
      const talked = (ch.hangupUs - ch.answeredUs) / 1e6;
      assert.ok(Math.abs(talked - 6) <= 1, `talked ${talked} s`);
      await waitFor(async () => (await hD.cdrs('unique_id = {u:String} AND rating_status = {s:String}', { u: uuid, s: 'rated' })).length === 1, 10_000, 'the CDR');
      const [row] = await hD.cdrs('unique_id = {u:String}', { u: uuid });
      assert.equal(Number(row!['cost']), 0.06);
      assert.equal(await cgr.balance('1009'), 0);
      // Initiate reserves 2 s, then an UpdateSession every 2 s (two before the cut at 6 s, one on a stalled box);
      // one Terminate settles.
      const calls = JSON.stringify([...hD.calls]);
      assert.equal(hD.calls.get('SessionSv1.InitiateSession:ok'), 1, calls);
      assert.ok((hD.calls.get('SessionSv1.UpdateSession:ok') ?? 0) >= 1, calls);
      assert.equal(hD.calls.get('SessionSv1.TerminateSession:ok'), 1, calls);
      process.stderr.write(`[rating] debit interval 2 s: cut after ${talked.toFixed(3)} s, cost ${row!['cost']}, balance 0\n`);
    } finally {
      await hD.stop();
      await fsD.close();
    }
  });
});
