import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { callFacts, decidePark, parkCommands, remainingSeconds, type OutagePolicy } from '../../../services/rating/core/call.ts';
import { billableMs, disposition, headersFromJsonCdr, timingFromHangup } from '../../../services/rating/core/cdr.ts';
import { classifyFrame } from '../../../services/rating/esl/events.ts';
import { EslFrameParser } from '../../../services/rating/esl/frames.ts';
import { readTranscript } from '../../support/esl-transcript.ts';

const policy: OutagePolicy = { prepaidFailOpen: false, failOpenMaxMs: 60_000, refuseCause: 'OUTGOING_CALL_BARRED' };
const defaults = { tenant: 'cgrates.org', reqtype: '*rated' as const, tenantReqtypes: new Map([['acme', '*prepaid']]) };

function sampleEvents() {
  const frames = new EslFrameParser().push(readTranscript().server).map(classifyFrame);
  return new Map(frames.flatMap((m) => (m.kind === 'event' ? [[m.event.name, m.event] as const] : [])));
}

describe('park decision', () => {
  it('allows credit in whole seconds, refuses zero credit, lets postpaid through, ignores *none', () => {
    assert.deepEqual(decidePark('*prepaid', { kind: 'max-usage', maxUsageNs: 6_500_000_000 }, policy), { action: 'allow', reason: 'credit', maxUsageMs: 6000, notify: 'AUTH_OK' });
    assert.equal(decidePark('*prepaid', { kind: 'max-usage', maxUsageNs: 999_999_999 }, policy).action, 'refuse');
    assert.equal(decidePark('*postpaid', undefined, policy).action, 'release');
    assert.equal(decidePark('*rated', undefined, policy).action, 'release');
    assert.equal(decidePark('*none', undefined, policy).action, 'ignore');
  });
  it('applies the outage policy per request type', () => {
    assert.deepEqual(decidePark('*prepaid', { kind: 'unavailable', error: 'x' }, policy),
      { action: 'refuse', reason: 'cgrates_unavailable', cause: 'OUTGOING_CALL_BARRED', notify: 'RATING_UNAVAILABLE', detail: 'x' });
    assert.deepEqual(decidePark('*pseudoprepaid', { kind: 'unavailable', error: 'x' }, { ...policy, prepaidFailOpen: true, failOpenMaxMs: 30_000 }),
      { action: 'allow', reason: 'fail_open', maxUsageMs: 30_000, notify: 'AUTH_OK' });
    const r = decidePark('*prepaid', { kind: 'rejected', error: 'RALS_ERROR:ACCOUNT_NOT_FOUND' }, policy);
    assert.equal(r.action === 'refuse' && r.notify, 'ACCOUNT_NOT_FOUND');
  });
  it('never arms more than the credit and never answers a refused call (property)', () => {
    fc.assert(fc.property(fc.constantFrom('*prepaid', '*pseudoprepaid', '*postpaid', '*rated', '*none' as const),
      fc.oneof(fc.record({ kind: fc.constant('max-usage' as const), maxUsageNs: fc.nat({ max: 1e13 }) }),
        fc.record({ kind: fc.constant('unavailable' as const), error: fc.string() }), fc.record({ kind: fc.constant('rejected' as const), error: fc.string() })),
      fc.boolean(), (rt, auth, failOpen) => {
        const d = decidePark(rt, auth, { ...policy, prepaidFailOpen: failOpen });
        const cmds = parkCommands('u', { callee: '44', dialplan: 'XML', context: 'default' }, d);
        if (d.action === 'refuse') return !cmds.some((c) => c.startsWith('uuid_transfer')) && cmds.at(-1) === 'uuid_kill u OUTGOING_CALL_BARRED';
        if (d.action === 'allow' && d.reason === 'credit' && auth.kind === 'max-usage') return d.maxUsageMs * 1e6 <= auth.maxUsageNs && d.maxUsageMs > 0;
        return true;
      }));
  });
});

describe('call facts and CDR timing from the sample', () => {
  const ev = sampleEvents();
  it('reads the cgr_* variables CGRateS\' agent reads, with defaults', () => {
    const f = callFacts(ev.get('CHANNEL_PARK')!.headers, 'fs1', defaults);
    assert.equal(f.reqtype, '*prepaid');
    assert.equal(f.account, '1001');
    assert.equal(f.destination, '441632960123');
    assert.equal(f.sipCallId, 'a84b4c76e66710@192.0.2.20');
    const bare = callFacts({ 'Unique-ID': 'x', 'Caller-Username': '2001', 'Caller-Destination-Number': '4420', 'variable_cgr_tenant': 'acme' }, 'fs2', defaults);
    assert.deepEqual([bare.tenant, bare.reqtype, bare.account, bare.subject, bare.destination, bare.category, bare.originHost], ['acme', '*prepaid', '2001', '2001', '4420', 'call', 'fs2']);
    assert.equal(callFacts({ 'Unique-ID': 'y' }, 'fs2', defaults).reqtype, '*rated');
  });
  it('takes the hangup timing: 18 s billed, answered, PDD from early media', () => {
    const t = timingFromHangup(ev.get('CHANNEL_HANGUP_COMPLETE')!.headers, 'event');
    assert.equal((t.endedUs - t.answeredUs) / 1e6, 18);
    assert.equal(t.hangupCause, 'NORMAL_CLEARING');
    assert.equal(t.q850, 16);
    assert.equal(disposition(t, false), 'answered');
    assert.equal(billableMs(t, 0), 18_000);
  });
  it('caps the usage of a call cut at its credit by under a second, not more', () => {
    assert.equal(billableMs({ answeredUs: 1_000_000, endedUs: 7_002_000 }, 6000), 6000);
    assert.equal(billableMs({ answeredUs: 1_000_000, endedUs: 8_500_000 }, 6000), 7500);
    assert.equal(remainingSeconds(60_000, 1_000, 31_500), 30);
  });
  it('maps a mod_json_cdr document onto the same names', () => {
    const h = headersFromJsonCdr({ variables: { uuid: 'abc', answer_uepoch: '2000000', end_uepoch: '5000000', start_uepoch: '1000000', hangup_cause: 'NORMAL_CLEARING', cgr_reqtype: '%2Apostpaid' },
      callflow: [{ caller_profile: { destination_number: '4420', username: '1001' } }] });
    const t = timingFromHangup(h, 'json_cdr');
    assert.deepEqual([t.createdUs, t.answeredUs, t.endedUs], [1_000_000, 2_000_000, 5_000_000]);
    assert.equal(callFacts(h, 'fs1', defaults).reqtype, '*postpaid');
    assert.throws(() => headersFromJsonCdr({ variables: {} }), /variables.uuid/);
    assert.throws(() => headersFromJsonCdr([]), /variables/);
  });
});
