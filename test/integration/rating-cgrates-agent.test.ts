/**
 * Validates the event-socket emulator against a real ESL client: CGRateS' own FreeSWITCH agent (v0.10.4) runs
 * against it and must behave as `../shared/brief/cgrates.md` section 8 describes. The same run is the anchor our
 * rating service is compared with (figures printed at the end).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, waitFor, type CgratesEngine } from '../support/cgrates.ts';
import { startEslEmulator, type EslEmulator } from '../support/esl-emulator.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping CGRateS agent test: ${skip}\n`);

describe('CGRateS freeswitch_agent against the event-socket emulator', { skip }, () => {
  let fs: EslEmulator;
  let cgr: CgratesEngine;
  before(async () => {
    fs = await startEslEmulator({ switchname: 'fs-agent' });
    cgr = await startCgrates({ debitInterval: '5s', freeswitchAgent: { conns: [{ address: fs.address, alias: 'fs-agent', reconnects: 5 }] } });
    // fsock's handshake is auth, its filters, then `event plain …`, one round trip each: wait for the last step, so
    // the handshake test sees every line and the first call's CHANNEL_PARK reaches the agent.
    await waitFor(() => fs.subscribedClients('CHANNEL_PARK') >= 1, 10_000, 'the agent to connect and subscribe');
  });
  after(async () => {
    await cgr?.stop();
    await fs?.close();
  });

  it('handshakes like fsock: auth, filters, event plain subscription', () => {
    const lines = fs.commands.map((c) => c.line);
    assert.ok(lines.includes('auth ClueCon'));
    assert.ok(lines.includes('filter Call-Direction inbound'), lines.join(' | '));
    assert.ok(lines.includes('filter Event-Name BACKGROUND_JOB'), lines.join(' | '));
    assert.ok(lines.some((l) => /^event plain .*CHANNEL_PARK/.test(l) && l.includes('CHANNEL_ANSWER') && l.includes('CHANNEL_HANGUP_COMPLETE')), lines.join(' | '));
  });

  it('prepaid with 6 s of credit: sched_hangup armed on answer, transferred, cut at 6 s ± 1 s, balance 0', async () => {
    const uuid = fs.originate({ account: '1001', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 20_000 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 15_000, 'the cut-off');
    const ch = fs.channels.get(uuid)!;
    const own = fs.commands.filter((c) => c.line.includes(uuid)).map((c) => c.line);
    assert.ok(own.includes(`api uuid_setvar ${uuid} execute_on_answer sched_hangup +6 alloted_timeout`), own.join(' | '));
    assert.ok(own.includes(`api uuid_setvar ${uuid} cgr_notify AUTH_OK`), own.join(' | '));
    assert.ok(own.some((l) => l.startsWith(`api uuid_transfer ${uuid} 441632960123`)), own.join(' | '));
    assert.equal(ch.hangupCause, 'ALLOTTED_TIMEOUT');
    const talked = (ch.hangupUs - ch.answeredUs) / 1e6;
    assert.ok(Math.abs(talked - 6) <= 1, `talked ${talked} s`);
    await waitFor(async () => (await cgr.cdrs({ OriginIDs: [uuid] })).length === 1, 5_000, 'the agent CDR');
    assert.equal(await cgr.balance('1001'), 0);
    const [cdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    assert.equal(cdr!.Cost, 0.06);
    process.stderr.write(`[agent] prepaid 6 s credit: cut after ${talked.toFixed(2)} s, CDR cost ${cdr!.Cost}\n`);
  });

  it('zero credit is NOT refused at park: INSUFFICIENT_CREDIT noted, transferred, answered', async () => {
    const uuid = fs.originate({ account: '1002', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50, talkMs: 8_000 });
    await waitFor(() => fs.channels.get(uuid)!.answeredUs > 0 || fs.channels.get(uuid)!.state === 'hungup', 5_000, 'answer or hangup');
    const ch = fs.channels.get(uuid)!;
    const own = fs.commands.filter((c) => c.line.includes(uuid)).map((c) => c.line);
    assert.ok(own.includes(`api uuid_setvar ${uuid} cgr_notify INSUFFICIENT_CREDIT`), own.join(' | '));
    assert.ok(own.some((l) => l.startsWith(`api uuid_transfer ${uuid}`)), own.join(' | '));
    assert.ok(ch.answeredUs > 0, 'the unpaid call was answered');
    await waitFor(() => ch.state === 'hungup', 12_000, 'hangup');
    process.stderr.write(`[agent] zero credit: answered, then ended after ${((ch.hangupUs - ch.answeredUs) / 1e6).toFixed(2)} s (${ch.hangupCause})\n`);
  });

  it('postpaid: only the 3 h default usage armed, CDR rated after the call', async () => {
    const uuid = fs.originate({ account: '1004', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 50, talkMs: 2_000 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 5_000, 'hangup');
    await waitFor(async () => (await cgr.cdrs({ OriginIDs: [uuid] })).length === 1, 5_000, 'the agent CDR');
    const [cdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    assert.equal(cdr!.RequestType, '*postpaid');
    assert.equal(cdr!.Cost, 0.02);
    const own = fs.commands.filter((c) => c.line.includes(uuid)).map((c) => c.line);
    // Postpaid is not credit-checked: AuthorizeEvent echoes sessions.default_usage, which the agent arms as is.
    assert.ok(own.includes(`api uuid_setvar ${uuid} execute_on_answer sched_hangup +10800 alloted_timeout`), own.join(' | '));
  });

  it('ESL lost mid-call: reconnects, but never reconciles the call that ended meanwhile', async () => {
    const uuid = fs.originate({ account: '1005', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 50 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'answered', 5_000, 'answer');
    await new Promise((r) => setTimeout(r, 500));
    const pause = fs.pause(1_500);
    await new Promise((r) => setTimeout(r, 300));
    fs.hangup(uuid); // the call ends while the agent is away
    await pause;
    await waitFor(() => fs.subscribedClients('CHANNEL_PARK') >= 1, 15_000, 'the agent to reconnect and subscribe');
    await new Promise((r) => setTimeout(r, 1_500));
    const cdrs = await cgr.cdrs({ OriginIDs: [uuid] });
    process.stderr.write(`[agent] ESL drop mid-call (postpaid, real ${((fs.channels.get(uuid)!.hangupUs - fs.channels.get(uuid)!.answeredUs) / 1e6).toFixed(2)} s): CGRateS CDRs after reconnect: ${cdrs.length}\n`);
    assert.equal(cdrs.length, 0, 'the agent wrote no CDR for the call it lost sight of');
    const lines = fs.commands.map((c) => c.line);
    assert.ok(!lines.some((l) => l.startsWith('api show channels')), 'the agent did not list channels after reconnecting');
  });

  it('ESL lost mid-call, prepaid: the session keeps debiting until the credit is gone', async () => {
    const uuid = fs.originate({ account: '1009', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 50 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'answered', 5_000, 'answer');
    await new Promise((r) => setTimeout(r, 1_000));
    const pause = fs.pause(1_500);
    await new Promise((r) => setTimeout(r, 500));
    fs.hangup(uuid); // ends while the agent is away
    await pause;
    const ch = fs.channels.get(uuid)!;
    const real = (ch.hangupUs - ch.answeredUs) / 1e6;
    // SessionS debits every 5 s on its own until the 6 s of credit are gone, then writes the CDR.
    await waitFor(async () => (await cgr.cdrs({ OriginIDs: [uuid] })).length === 1, 20_000, 'the CDR SessionS writes when the credit runs out');
    const [cdr] = await cgr.cdrs({ OriginIDs: [uuid] });
    const billed = cdr!.Usage / 1e9;
    process.stderr.write(`[agent] ESL drop mid-call (prepaid, real ${real.toFixed(2)} s): billed ${billed.toFixed(2)} s, cost ${cdr!.Cost}, balance left ${await cgr.balance('1009')}\n`);
    assert.ok(billed > real + 2, `over-billed: ${billed} s for a ${real} s call`);
  });
});
