/**
 * Bad input end to end: garbage and truncated event-socket frames, unknown events, a CGRateS error, and a CDR
 * insert failure (the `cdrs` table really gone from ClickHouse, and the service restarted meanwhile). Each gives a
 * clear, counted error, and nothing is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CGRATES_SKIP_REASON, cgrEngineBinary, startCgrates, waitFor, type CgratesEngine } from '../support/cgrates.ts';
import { startEslEmulator, type EslEmulator } from '../support/esl-emulator.ts';
import { ratingDatabase, startRatingService, type RatingDb, type RatingHarness } from '../support/rating-harness.ts';

const skip = cgrEngineBinary() ? false : CGRATES_SKIP_REASON;
if (skip) process.stderr.write(`skipping rating bad-input test: ${skip}\n`);

async function metric(h: RatingHarness, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await h.registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

describe('rating on bad input', { skip }, () => {
  let fs: EslEmulator;
  let cgr: CgratesEngine;
  let db: RatingDb;
  let h: RatingHarness;

  before(async () => {
    [fs, cgr, db] = await Promise.all([startEslEmulator({ switchname: 'fs1' }), startCgrates(), ratingDatabase()]);
    h = await startRatingService({ nodes: [{ name: 'fs1', port: fs.port }], cgratesUrl: cgr.tcpUrl, db });
    await waitFor(() => h.service.clients.get('fs1')!.connected, 5_000, 'connection');
  });
  after(async () => {
    await h?.stop();
    await cgr?.stop();
    await fs?.close();
    await db?.drop();
  });

  it('counts an unknown event and a bad event body without dropping the socket', async () => {
    const body = 'Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n\n';
    fs.injectRaw(`Content-Length: ${body.length}\nContent-Type: text/event-plain\n\n${body}`);
    const bad = 'No-Event-Name: here\n\n';
    fs.injectRaw(`Content-Length: ${bad.length}\nContent-Type: text/event-plain\n\n${bad}`);
    await waitFor(async () => (await metric(h, 'tollgate_rating_esl_protocol_errors_total')) === 1, 2_000, 'the bad body counted');
    assert.equal(await metric(h, 'tollgate_rating_esl_events_total', { event: 'CUSTOM' }), 1);
    assert.ok(h.service.clients.get('fs1')!.connected);
    assert.equal(h.service.clients.get('fs1')!.stats.connects, 1);
  });

  it('drops and re-opens the socket on garbage framing, then serves calls again', async () => {
    fs.injectRaw('Content-Length: 12x\n\n');
    await waitFor(async () => (await metric(h, 'tollgate_rating_esl_protocol_errors_total')) === 2, 2_000, 'the garbage counted');
    await waitFor(() => h.service.clients.get('fs1')!.stats.connects === 2, 5_000, 'the reconnect');
    const uuid = fs.originate({ account: '1003', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 20, talkMs: 200 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 3_000, 'a call after the reconnect');
    assert.ok(fs.channels.get(uuid)!.answeredUs > 0);
  });

  it('refuses a prepaid call whose account CGRateS does not know, naming the error', async () => {
    const uuid = fs.originate({ account: '9999', destination: '441632960123', reqtype: '*prepaid', answerAfterMs: 20, talkMs: 200 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 3_000, 'the refusal');
    const ch = fs.channels.get(uuid)!;
    assert.equal(ch.answeredUs, 0);
    assert.equal(ch.vars.get('cgr_notify'), 'ACCOUNT_NOT_FOUND');
    assert.equal(await metric(h, 'tollgate_rating_park_decisions_total', { reason: 'cgrates_rejected' }), 1);
  });

  it('writes a CDR for an outbound (B) leg but never rates it, so a call is not charged twice', async () => {
    const uuid = fs.originate({ account: '1003', destination: '441632960123', reqtype: '*prepaid', direction: 'outbound' });
    await new Promise((r) => setTimeout(r, 200));
    const own = fs.commands.filter((c) => c.line.includes(uuid));
    assert.deepEqual(own, [], 'no command for a B leg');
    fs.hangup(uuid, 'NORMAL_CLEARING');
    await waitFor(async () => (await h.cdrs('unique_id = {u:String}', { u: uuid })).length === 1, 5_000, 'the B-leg CDR');
    const [row] = await h.cdrs('unique_id = {u:String}', { u: uuid });
    assert.equal(row!['rating_status'], 'not_rated');
    assert.equal(row!['direction'], 'outbound');
    assert.equal(row!['decision'], 'outbound_leg');
    assert.deepEqual(await cgr.cdrs({ OriginIDs: [uuid] }), []);
  });

  it('keeps CDRs in the journal while the cdrs table is gone, across a restart, and writes them once it is back', async () => {
    await db.store.command('RENAME TABLE cdrs TO cdrs_away');
    const uuid = fs.originate({ account: '1004', destination: '441632960123', reqtype: '*postpaid', answerAfterMs: 20, talkMs: 300 });
    await waitFor(() => fs.channels.get(uuid)!.state === 'hungup', 3_000, 'hangup');
    await waitFor(() => h.writer.health().state === 'degraded', 5_000, 'the writer to notice');
    assert.match(h.writer.health().detail ?? '', /journaled, not yet written/);
    assert.ok(h.writer.queued >= 1);
    // Restart the service on the same journal while ClickHouse still refuses.
    const spoolDir = h.spoolDir;
    await h.stop({ keepSpool: true });
    h = await startRatingService({ nodes: [{ name: 'fs1', port: fs.port }], cgratesUrl: cgr.tcpUrl, db, spoolDir });
    assert.ok(h.writer.queued >= 1, 'replayed from the journal');
    await db.store.command('RENAME TABLE cdrs_away TO cdrs');
    await waitFor(async () => (await h.cdrs('unique_id = {u:String}', { u: uuid })).length === 1, 10_000, 'the CDR after recovery');
    const [row] = await h.cdrs('unique_id = {u:String}', { u: uuid });
    assert.equal(row!['rating_status'], 'rated');
    const all = await db.store.query<{ n: string }>('SELECT count() AS n FROM cdrs FINAL WHERE unique_id = {u:String}', { u: uuid });
    assert.equal(Number(all[0]!.n), 1);
  });
});
