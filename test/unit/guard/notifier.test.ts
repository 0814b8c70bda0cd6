import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { AlertBook, type Alert } from '../../../services/guard/alerts.ts';
import { guardMetrics } from '../../../services/guard/metrics.ts';
import { Notifier, type DeliveryRecord } from '../../../services/guard/notify/notifier.ts';
import { parseReceivers, verify } from '../../../services/guard/notify/receivers.ts';
import { isTollgateError } from '../../../services/shared/errors.ts';
import { GuardErrors } from '../../../services/guard/errors.ts';
import { WebhookReceiver } from '../../support/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const log = pino({ level: 'silent' });

function alerts(): { opened: Alert; resolved: Alert } {
  const book = new AlertBook({ resolveAfterMs: 1, updateEveryMs: 0 });
  const opened = book.apply({
    detector: 'tollfraud', rule: 'cpm:high_risk:+882', severity: 'critical', subject: { kind: 'account', value: 'acme/1001' }, tenant: 'acme', at: Date.now(), block: [],
    evidence: { count: 10, threshold: 10, windowMs: 60_000, detail: '10 calls/min to +882', callIds: ['c1', 'c2'] },
  }, Date.now())!.alert;
  const resolved = book.tick(Date.now() + 10)[0]!.alert;
  return { opened, resolved };
}

/**
 * The request timeout above is no test's subject: at 500 ms a loaded machine answered the first delivery too late, it
 * was retried, and the receiver saw 'alert.firing' twice where the test expects the resolution second.
 */

/** Polls for an outcome the notifier records after the receiver already has the request (a bound, not a pause). */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A receiver and a notifier closed after the test also when an assertion failed (else the open server hangs the file). */
async function rig(t: TestContext, receivers: (url: string) => string, records: DeliveryRecord[]): Promise<{ rx: WebhookReceiver; url: string; n: Notifier }> {
  const rx = new WebhookReceiver();
  const url = await rx.listen();
  const n = notifier(receivers(url), records);
  t.after(async () => {
    await n.close();
    await rx.close();
  });
  return { rx, url, n };
}

function notifier(receivers: string, records: DeliveryRecord[], extra: Partial<ConstructorParameters<typeof Notifier>[0]> = {}): Notifier {
  return new Notifier({
    receivers: parseReceivers(receivers), secret: SECRET, groupWaitMs: 20, attempts: 3, retryBaseMs: 30, timeoutMs: 10_000, resendFiringMs: 0, externalUrl: 'https://tollgate.example',
    metrics: guardMetrics(new Registry()), log, record: (d) => records.push(d), firing: () => [], ...extra,
  });
}

describe('alert delivery', () => {
  it('generic receiver: Standard Webhooks headers, a signature the receiver verifies, one delivery per group', async (t) => {
    const records: DeliveryRecord[] = [];
    const { rx, n } = await rig(t, (url) => `${url}/hook`, records);
    await n.start();
    const { opened, resolved } = alerts();
    n.notify({ kind: 'opened', alert: opened });
    const [got] = await rx.waitFor(1);
    assert.ok(verify(SECRET, { id: String(got!.headers['webhook-id']), timestamp: String(got!.headers['webhook-timestamp']), signature: String(got!.headers['webhook-signature']) }, got!.body));
    assert.equal(verify(SECRET, { id: String(got!.headers['webhook-id']), timestamp: String(got!.headers['webhook-timestamp']), signature: String(got!.headers['webhook-signature']) }, `${got!.body} `), false);
    const body = JSON.parse(got!.body) as { type: string; data: { alerts: Array<{ id: string; severity: string; evidence: { call_ids: string[] } }> } };
    assert.equal(body.type, 'alert.firing');
    assert.equal(body.data.alerts[0]!.id, opened.id);
    assert.deepEqual(body.data.alerts[0]!.evidence.call_ids, ['c1', 'c2']);
    // Repeats are not notified; the resolution is.
    n.notify({ kind: 'updated', alert: opened });
    n.notify({ kind: 'resolved', alert: resolved });
    await rx.waitFor(2);
    assert.equal((JSON.parse(rx.received[1]!.body) as { type: string }).type, 'alert.resolved');
    await n.close();
    assert.equal(rx.received.length, 2);
    assert.deepEqual(records.map((r) => r.outcome), ['delivered', 'delivered']);
    await rx.close();
  });

  it('Slack and Alertmanager shapes', async (t) => {
    const records: DeliveryRecord[] = [];
    const { rx, url, n } = await rig(t, (u) => `slack+${u}/services/T0/B0/X, alertmanager+${u}`, records);
    await n.start();
    const { opened, resolved } = alerts();
    n.notify({ kind: 'opened', alert: opened });
    await rx.waitFor(2);
    const slack = rx.received.find((r) => r.path.startsWith('/services'))!;
    const am = rx.received.find((r) => r.path === '/api/v2/alerts')!;
    assert.equal(slack.headers['webhook-signature'], undefined);
    const s = JSON.parse(slack.body) as { text: string; blocks: unknown[] };
    assert.match(s.text, /CRITICAL\* ?|CRITICAL/);
    assert.match(s.text, /acme\/1001/);
    assert.equal(s.blocks.length, 1);
    const a = JSON.parse(am.body) as Array<{ labels: Record<string, string>; startsAt: string; endsAt?: string; generatorURL: string }>;
    assert.equal(a[0]!.labels['alertname'], 'tollgate_tollfraud');
    assert.equal(a[0]!.labels['severity'], 'critical');
    assert.equal(a[0]!.endsAt, undefined);
    assert.equal(a[0]!.generatorURL, `https://tollgate.example/v1/alerts/${opened.id}`);
    n.notify({ kind: 'resolved', alert: resolved });
    await rx.waitFor(4);
    const amResolved = JSON.parse(rx.received.filter((r) => r.path === '/api/v2/alerts')[1]!.body) as Array<{ endsAt: string }>;
    assert.ok(Date.parse(amResolved[0]!.endsAt) <= Date.now());
    await n.close();
    await rx.close();
  });

  it('a receiver that is down: retried with backoff under the same id, then a dead-letter record with the payload', async (t) => {
    const records: DeliveryRecord[] = [];
    const { rx, url, n } = await rig(t, (u) => u, records);
    rx.status = 503;
    await n.start();
    n.notify({ kind: 'opened', alert: alerts().opened });
    await rx.waitFor(3);
    await until('the third outcome recorded', () => records.length >= 3);
    assert.deepEqual(records.map((r) => [r.outcome, r.attempt, r.httpStatus]), [['retry', 1, 503], ['retry', 2, 503], ['dead', 3, 503]]);
    assert.equal(new Set(rx.received.map((r) => r.headers['webhook-id'])).size, 1);
    assert.ok(records[2]!.payload.includes('"alert.firing"'));
    assert.ok(rx.received[2]!.at - rx.received[1]!.at >= 150, 'second retry waits longer (30 ms × 6)');
    await n.close();
    await rx.close();
    // Nothing listening at all: connection refused is an error like any other.
    const refused: DeliveryRecord[] = [];
    const m = notifier(url, refused, { attempts: 1 });
    t.after(() => m.close());
    m.notify({ kind: 'opened', alert: alerts().opened });
    m.flush();
    await until('the refused delivery recorded', () => refused.length >= 1);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]?.outcome, 'dead');
    assert.match(refused[0]!.error, /ECONNREFUSED|fetch failed|other side closed/);
    await m.close();
  });

  it('ALERT_WEBHOOKS entries are checked, credentials never shown', () => {
    assert.deepEqual(parseReceivers('https://a.example/h, slack+https://hooks.slack.com/services/X, alertmanager+http://127.0.0.1:9093').map((r) => [r.shape, r.url]), [
      ['webhook', 'https://a.example/h'], ['slack', 'https://hooks.slack.com/services/X'], ['alertmanager', 'http://127.0.0.1:9093/api/v2/alerts']]);
    assert.throws(() => parseReceivers('teams+https://x'), (e) => isTollgateError(e, GuardErrors.badReceiver));
    assert.throws(() => parseReceivers('ftp://user:pw@x'), (e) => isTollgateError(e, GuardErrors.badReceiver) && !/pw/.test((e as Error).message));
  });
});
