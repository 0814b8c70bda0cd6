/**
 * Alert delivery. Changes that matter (opened, escalated, resolved — never the repeats) are grouped for
 * `groupWaitMs` and sent as one delivery per receiver; a failed delivery is retried with exponential backoff under
 * the same `webhook-id`; after the last try it becomes a dead-letter record (with its payload). A receiver that
 * answers 410 Gone is disabled, as Standard Webhooks asks. Firing alerts are re-sent to Alertmanager receivers so
 * Alertmanager does not resolve them on its own.
 */
import type { Logger } from 'pino';
import { Once, type Component, type ComponentHealth } from '../../shared/lifecycle.ts';
import type { Alert, AlertChange } from '../alerts.ts';
import type { GuardMetrics } from '../metrics.ts';
import { render, sign, type Outgoing, type Receiver } from './receivers.ts';

export interface DeliveryRecord {
  readonly ts: number;
  readonly receiver: string;
  readonly shape: string;
  readonly deliveryId: string;
  readonly alertIds: readonly string[];
  readonly outcome: 'delivered' | 'retry' | 'dead';
  readonly attempt: number;
  readonly httpStatus: number;
  readonly error: string;
  readonly payload: string;
}

export interface NotifierOptions {
  readonly receivers: readonly Receiver[];
  readonly secret: string | undefined;
  readonly groupWaitMs: number;
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly timeoutMs: number;
  readonly resendFiringMs: number;
  readonly externalUrl: string;
  readonly metrics: GuardMetrics;
  readonly log: Logger;
  readonly record: (d: DeliveryRecord) => void;
  /** The firing alerts now (for Alertmanager re-sends). */
  readonly firing: () => readonly Alert[];
  /** Deliveries a previous run left waiting for a retry (read back from `alert_deliveries` at start). */
  readonly unfinished?: () => Promise<readonly UnfinishedDelivery[]>;
}

/** A delivery whose last record is a `retry`: what the previous run of this node was about to try again. */
export interface UnfinishedDelivery {
  readonly receiver: string;
  readonly deliveryId: string;
  readonly alertIds: readonly string[];
  readonly attempt: number;
  /** When the last attempt was recorded (ms). */
  readonly ts: number;
  readonly payload: string;
}

interface Job {
  readonly receiver: Receiver;
  readonly out: Outgoing;
  readonly alertIds: readonly string[];
  attempt: number;
  timer?: NodeJS.Timeout;
}

export class Notifier implements Component {
  readonly name = 'alert-notifier';
  readonly #o: NotifierOptions;
  #batch: Alert[] = [];
  #batchTimer: NodeJS.Timeout | undefined;
  #resendTimer: NodeJS.Timeout | undefined;
  readonly #jobs = new Set<Job>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #disabled = new Set<string>();
  readonly #closing = new Once();
  #dead = 0;

  constructor(o: NotifierOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    if (this.#o.unfinished !== undefined && this.#o.receivers.length > 0) {
      const left = await this.#o.unfinished().catch((err: unknown) => {
        this.#o.log.warn({ err }, 'could not read unfinished alert deliveries; retries of the previous run are lost');
        return [];
      });
      for (const d of left) this.#resume(d);
      if (left.length > 0) this.#o.log.info({ deliveries: left.length }, 'alert deliveries left by the previous run resumed');
    }
    if (this.#o.receivers.some((r) => r.shape === 'alertmanager') && this.#o.resendFiringMs > 0) {
      this.#resendTimer = setInterval(() => {
        const firing = this.#o.firing();
        if (firing.length > 0) for (const r of this.#o.receivers) if (r.shape === 'alertmanager') this.#send(r, firing);
      }, this.#o.resendFiringMs);
      this.#resendTimer.unref();
    }
  }

  notify(c: AlertChange): void {
    if (c.kind === 'updated' || this.#o.receivers.length === 0) return;
    // The latest state of an alert replaces an earlier one still waiting in the batch.
    this.#batch = [...this.#batch.filter((a) => a.id !== c.alert.id), c.alert];
    this.#batchTimer ??= setTimeout(() => this.flush(), this.#o.groupWaitMs);
  }

  flush(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const alerts = this.#batch;
    this.#batch = [];
    if (alerts.length === 0) return;
    for (const r of this.#o.receivers) this.#send(r, alerts);
  }

  #send(receiver: Receiver, alerts: readonly Alert[]): void {
    if (this.#disabled.has(receiver.url)) return;
    const job: Job = { receiver, out: render(receiver, alerts, Date.now(), this.#o.externalUrl), alertIds: alerts.map((a) => a.id), attempt: 0 };
    this.#jobs.add(job);
    this.#attempt(job);
  }

  /** Picks up a retry where the previous run left it: same `webhook-id` and body, the backoff counted from its last attempt. */
  #resume(d: UnfinishedDelivery): void {
    const receiver = this.#o.receivers.find((r) => r.label === d.receiver);
    if (receiver === undefined || d.payload === '') {
      this.#o.log.warn({ receiver: d.receiver, deliveryId: d.deliveryId }, 'unfinished alert delivery for a receiver no longer configured; dropped');
      return;
    }
    const job: Job = { receiver, out: { id: d.deliveryId, body: d.payload, contentType: 'application/json' }, alertIds: d.alertIds, attempt: d.attempt };
    this.#jobs.add(job);
    const due = d.ts + this.#o.retryBaseMs * 6 ** (d.attempt - 1);
    job.timer = setTimeout(() => this.#attempt(job), Math.max(0, due - Date.now()));
  }

  /** How far back a delivery can still be waiting for a retry. */
  get retryHorizonMs(): number {
    let ms = 0;
    for (let k = 0; k < this.#o.attempts; k++) ms += this.#o.retryBaseMs * 6 ** k;
    return Math.min(ms, 30 * 86_400_000);
  }

  #attempt(job: Job): void {
    job.attempt++;
    const p = this.#post(job).finally(() => this.#inflight.delete(p));
    this.#inflight.add(p);
  }

  async #post(job: Job): Promise<void> {
    const { receiver, out } = job;
    const headers: Record<string, string> = { 'content-type': out.contentType, 'user-agent': 'tollgate-guard' };
    if (receiver.shape === 'webhook') {
      const ts = Math.floor(Date.now() / 1000);
      headers['webhook-id'] = out.id;
      headers['webhook-timestamp'] = String(ts);
      if (this.#o.secret !== undefined) headers['webhook-signature'] = sign(this.#o.secret, out.id, ts, out.body);
    }
    let status = 0;
    let error = '';
    try {
      const res = await fetch(receiver.url, { method: 'POST', headers, body: out.body, signal: AbortSignal.timeout(this.#o.timeoutMs) });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (status >= 200 && status < 300) {
        this.#done(job, 'delivered', status, '');
        return;
      }
      error = `HTTP ${status}`;
    } catch (err) {
      const e = err as Error;
      error = e.name === 'TimeoutError' ? `no answer within ${this.#o.timeoutMs} ms` : (e.cause instanceof Error ? e.cause.message : e.message);
    }
    if (status === 410) {
      this.#disabled.add(receiver.url);
      this.#o.log.error({ receiver: receiver.label }, 'alert receiver answered 410 Gone: disabled until restart');
      this.#done(job, 'dead', status, `${error}: receiver disabled`);
      return;
    }
    if (job.attempt >= this.#o.attempts || this.#closing.done) {
      this.#done(job, 'dead', status, error);
      return;
    }
    this.#record(job, 'retry', status, error);
    const delay = this.#o.retryBaseMs * 6 ** (job.attempt - 1);
    job.timer = setTimeout(() => this.#attempt(job), delay);
  }

  #done(job: Job, outcome: 'delivered' | 'dead', status: number, error: string): void {
    this.#jobs.delete(job);
    if (outcome === 'dead') {
      this.#dead++;
      this.#o.log.error({ receiver: job.receiver.label, deliveryId: job.out.id, attempts: job.attempt, error }, 'alert delivery gave up; dead-letter record written');
    }
    this.#record(job, outcome, status, error);
  }

  #record(job: Job, outcome: DeliveryRecord['outcome'], status: number, error: string): void {
    this.#o.metrics.webhookDeliveries.inc({ receiver: job.receiver.label, outcome });
    this.#o.record({
      ts: Date.now(), receiver: job.receiver.label, shape: job.receiver.shape, deliveryId: job.out.id, alertIds: job.alertIds, outcome,
      // Retry rows carry the body too: a guard restarted after a crash resumes them from there (`unfinished`).
      attempt: job.attempt, httpStatus: status, error, payload: outcome === 'delivered' ? '' : job.out.body,
    });
  }

  get pending(): number {
    return this.#jobs.size;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      clearInterval(this.#resendTimer);
      this.flush();
      await Promise.allSettled([...this.#inflight]);
      // Retries still waiting: one last try each now, then dead-letter (close() marks them final).
      for (const job of [...this.#jobs]) {
        clearTimeout(job.timer);
        if (this.#jobs.has(job)) this.#attempt(job);
      }
      await Promise.allSettled([...this.#inflight]);
    });
  }

  destroy(): Promise<void> {
    return this.close();
  }

  health(): ComponentHealth {
    if (this.#jobs.size > 0) return { state: 'degraded', detail: `${this.#jobs.size} alert deliveries retrying, ${this.#dead} dead-lettered` };
    return { state: 'ok' };
  }
}
