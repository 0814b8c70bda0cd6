/**
 * Alert receivers from `ALERT_WEBHOOKS` and the body each shape gets. A plain URL is a generic receiver (Standard
 * Webhooks: `{type, timestamp, data}`, signed); `slack+https://…` an incoming Slack webhook; `alertmanager+http://…`
 * an Alertmanager, posted to its v2 API (`/api/v2/alerts`).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { TollgateError } from '../../shared/errors.ts';
import type { Alert } from '../alerts.ts';
import { redact } from '../edge/rpc.ts';
import { GuardErrors } from '../errors.ts';

export type Shape = 'webhook' | 'slack' | 'alertmanager';

export interface Receiver {
  readonly shape: Shape;
  readonly url: string;
  readonly label: string;
}

export function parseReceivers(text: string): Receiver[] {
  return text.split(',').map((x) => x.trim()).filter(Boolean).map((entry) => {
    const m = /^(?:(slack|alertmanager)\+)?(https?:\/\/.+)$/.exec(entry);
    let u: URL | undefined;
    try {
      u = m === null ? undefined : new URL(m[2]!);
    } catch {
      u = undefined;
    }
    if (m === null || u === undefined) {
      throw new TollgateError(GuardErrors.badReceiver, `ALERT_WEBHOOKS entry "${redact(entry.replace(/^[a-z]+\+/, ''))}" is not a receiver: expected https://…, slack+https://… or alertmanager+http(s)://…`);
    }
    const shape: Shape = m[1] === 'slack' ? 'slack' : m[1] === 'alertmanager' ? 'alertmanager' : 'webhook';
    if (shape === 'alertmanager' && (u.pathname === '' || u.pathname === '/')) u.pathname = '/api/v2/alerts';
    return { shape, url: u.toString(), label: `${shape}:${redact(u.toString())}` };
  });
}

export interface Outgoing {
  readonly id: string;
  readonly body: string;
  readonly contentType: string;
}

/** One delivery for a group of alert changes. */
export function render(r: Receiver, alerts: readonly Alert[], now: number, externalUrl = ''): Outgoing {
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
  if (r.shape === 'alertmanager') return { id, contentType: 'application/json', body: JSON.stringify(alerts.map((a) => alertmanagerAlert(a, now, externalUrl))) };
  if (r.shape === 'slack') return { id, contentType: 'application/json', body: JSON.stringify(slackMessage(alerts)) };
  const states = new Set(alerts.map((a) => a.state));
  const type = states.size === 1 ? `alert.${[...states][0]}` : 'alert.changed';
  return { id, contentType: 'application/json', body: JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: { alerts: alerts.map(publicAlert) } }) };
}

export function publicAlert(a: Alert): Record<string, unknown> {
  return {
    id: a.id, detector: a.detector, rule: a.rule, severity: a.severity, state: a.state, subject: a.subject, tenant: a.tenant,
    first_seen: new Date(a.firstSeen).toISOString(), last_seen: new Date(a.lastSeen).toISOString(),
    resolved_at: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(), findings: a.findings, blocked: a.blocked,
    evidence: { count: a.evidence.count, threshold: a.evidence.threshold, window_ms: a.evidence.windowMs, detail: a.evidence.detail, call_ids: a.evidence.callIds, ...(a.evidence.extra ? { extra: a.evidence.extra } : {}) },
  };
}

function alertmanagerAlert(a: Alert, now: number, externalUrl: string): Record<string, unknown> {
  return {
    labels: {
      alertname: `tollgate_${a.detector}`, detector: a.detector, rule: a.rule, severity: a.severity,
      subject_kind: a.subject.kind, subject: a.subject.value, ...(a.tenant ? { tenant: a.tenant } : {}), alert_id: a.id,
    },
    annotations: { summary: a.evidence.detail, call_ids: a.evidence.callIds.join(' '), blocked: a.blocked.join(' ') },
    startsAt: new Date(a.firstSeen).toISOString(),
    // A resolved alert carries its end; a firing one leaves it to Alertmanager's resolve_timeout and is re-sent.
    ...(a.state === 'resolved' ? { endsAt: new Date(a.resolvedAt ?? now).toISOString() } : {}),
    ...(externalUrl ? { generatorURL: `${externalUrl.replace(/\/$/, '')}/v1/alerts/${a.id}` } : {}),
  };
}

function slackMessage(alerts: readonly Alert[]): Record<string, unknown> {
  const line = (a: Alert) => `${a.state === 'resolved' ? ':white_check_mark: RESOLVED' : a.severity === 'critical' ? ':rotating_light: CRITICAL' : ':warning: WARNING'} `
    + `*${a.detector}/${a.rule}* on ${a.subject.kind} \`${a.subject.value}\`${a.tenant ? ` (tenant ${a.tenant})` : ''}: ${a.evidence.detail}`
    + `${a.blocked.length > 0 ? ` — blocked ${a.blocked.slice(0, 5).join(', ')}` : ''}`;
  const text = alerts.map(line).join('\n');
  return { text, blocks: alerts.slice(0, 40).map((a) => ({ type: 'section', text: { type: 'mrkdwn', text: line(a) } })) };
}

/** Standard Webhooks signing: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, key = base64 after `whsec_`. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/** The receiver's side, for tests and for users: true when any `v1,` signature matches and the time is within 5 min. */
export function verify(secret: string, headers: { id: string; timestamp: string; signature: string }, body: string, now = Date.now()): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > 300) return false;
  const expected = Buffer.from(sign(secret, headers.id, ts, body).slice(3), 'base64');
  return headers.signature.split(' ').some((s) => {
    if (!s.startsWith('v1,')) return false;
    const got = Buffer.from(s.slice(3), 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
