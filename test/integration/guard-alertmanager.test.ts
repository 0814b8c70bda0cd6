/**
 * The Alertmanager shape against a real Alertmanager (built by scripts/setup.d/alertmanager.sh): the guard posts to
 * its v2 API; Alertmanager groups and routes to a webhook receiver in the test, firing and then resolved.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { AlertBook } from '../../services/guard/alerts.ts';
import { guardMetrics } from '../../services/guard/metrics.ts';
import { Notifier, type DeliveryRecord } from '../../services/guard/notify/notifier.ts';
import { parseReceivers } from '../../services/guard/notify/receivers.ts';
import { freePort } from '../support/ports.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const CACHE = process.env['TOLLGATE_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tollgate');
const AM = join(CACHE, 'alertmanager-v0.35.0', 'bin', 'alertmanager');

describe('Alertmanager v2 API (real Alertmanager)', { timeout: 60_000, skip: existsSync(AM) ? false : `${AM} missing (npm run setup builds it)` }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tg-am-'));
  const rx = new WebhookReceiver();
  let am: ChildProcess;
  let amUrl = '';

  before(async () => {
    const hook = await rx.listen();
    const port = await freePort();
    writeFileSync(join(dir, 'am.yml'), [
      'route: { receiver: tg, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h }',
      `receivers: [{ name: tg, webhook_configs: [{ url: "${hook}/am", send_resolved: true }] }]`, ''].join('\n'));
    am = spawn(AM, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    am.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-3000); });
    amUrl = `http://127.0.0.1:${port}`;
    const t0 = Date.now();
    while (!(await fetch(`${amUrl}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() - t0 > 20_000 || am.exitCode !== null) throw new Error(`alertmanager not ready: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (am?.exitCode === null) {
      const exited = new Promise((r) => am.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a critical toll fraud alert reaches Alertmanager, is routed to its receiver, and resolves', async () => {
    const records: DeliveryRecord[] = [];
    const n = new Notifier({
      receivers: parseReceivers(`alertmanager+${amUrl}`), secret: undefined, groupWaitMs: 20, attempts: 3, retryBaseMs: 100, timeoutMs: 2_000, resendFiringMs: 0,
      externalUrl: 'https://tollgate.example', metrics: guardMetrics(new Registry()), log: pino({ level: 'silent' }), record: (d) => records.push(d), firing: () => [],
    });
    await n.start();
    const book = new AlertBook({ resolveAfterMs: 1, updateEveryMs: 0 });
    const opened = book.apply({
      detector: 'tollfraud', rule: 'cpm:high_risk:+882', severity: 'critical', subject: { kind: 'account', value: 'acme/1001' }, tenant: 'acme', at: Date.now(), block: [],
      evidence: { count: 10, threshold: 10, windowMs: 60_000, detail: '10 calls/min to +882', callIds: ['c1'] },
    }, Date.now())!;
    n.notify(opened);
    const firing = await rx.waitFor(1, 15_000);
    const payload = JSON.parse(firing[0]!.body) as { status: string; alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string }> };
    assert.equal(payload.status, 'firing');
    assert.equal(payload.alerts[0]!.labels['alertname'], 'tollgate_tollfraud');
    assert.equal(payload.alerts[0]!.labels['severity'], 'critical');
    assert.equal(payload.alerts[0]!.labels['alert_id'], opened.alert.id);
    assert.equal(payload.alerts[0]!.annotations['summary'], '10 calls/min to +882');
    assert.equal(payload.alerts[0]!.generatorURL, `https://tollgate.example/v1/alerts/${opened.alert.id}`);
    const listed = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>;
    assert.equal(listed.length, 1);
    n.notify(book.tick(Date.now() + 10)[0]!);
    const all = await rx.waitFor(2, 15_000);
    assert.equal((JSON.parse(all[1]!.body) as { status: string }).status, 'resolved');
    await n.close();
    assert.deepEqual(records.map((r) => [r.outcome, r.httpStatus]), [['delivered', 200], ['delivered', 200]]);
    process.stdout.write(`[guard-alertmanager] firing → Alertmanager → receiver ${firing[0]!.at - opened.alert.firstSeen} ms\n`);
  });
});
