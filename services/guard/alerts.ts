/**
 * The alert book: detector findings in, alert changes out. One alert per (detector, rule, subject) while it is
 * ongoing — repeats only bump its count and last-seen time; warning → critical is an escalation of the same alert;
 * no finding for `resolveAfterMs` resolves it. Pure; the caller persists and notifies the changes.
 */
import { createHash } from 'node:crypto';
import type { DetectorName, Evidence, Finding, Severity, Subject } from './detect/types.ts';

export type AlertState = 'firing' | 'resolved';

export interface Alert {
  readonly id: string;
  readonly version: number;
  readonly detector: DetectorName;
  readonly rule: string;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly subject: Subject;
  readonly tenant: string;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly resolvedAt: number | null;
  readonly findings: number;
  readonly blocked: readonly string[];
  readonly evidence: Evidence;
}

export type ChangeKind = 'opened' | 'escalated' | 'updated' | 'resolved';

export interface AlertChange {
  readonly kind: ChangeKind;
  readonly alert: Alert;
}

export interface AlertBookOptions {
  readonly resolveAfterMs: number;
  /** An ongoing alert's stored row is refreshed at most this often (count, last seen). */
  readonly updateEveryMs: number;
}

interface Entry {
  alert: Alert;
  touched: number;
  stored: number;
}

export function alertKey(detector: string, rule: string, subject: Subject): string {
  return `${detector}|${rule}|${subject.kind}|${subject.value}`;
}

export class AlertBook {
  readonly #open = new Map<string, Entry>();

  constructor(private readonly o: AlertBookOptions) {}

  /** Alerts that were firing when the process stopped, so a restart continues them instead of opening new ones. */
  restore(alerts: readonly Alert[], now: number): void {
    for (const a of alerts) if (a.state === 'firing') this.#open.set(alertKey(a.detector, a.rule, a.subject), { alert: a, touched: now, stored: now });
  }

  apply(f: Finding, now: number): AlertChange | undefined {
    const key = alertKey(f.detector, f.rule, f.subject);
    const e = this.#open.get(key);
    if (e === undefined) {
      const alert: Alert = {
        id: alertId(key, f.at), version: 1, detector: f.detector, rule: f.rule, severity: f.severity, state: 'firing', subject: f.subject,
        tenant: f.tenant, firstSeen: f.at, lastSeen: f.at, resolvedAt: null, findings: 1, blocked: [...f.block], evidence: f.evidence,
      };
      this.#open.set(key, { alert, touched: now, stored: now });
      return { kind: 'opened', alert };
    }
    const prev = e.alert;
    const escalated = prev.severity === 'warning' && f.severity === 'critical';
    const blocked = [...new Set([...prev.blocked, ...f.block])];
    const alert: Alert = {
      ...prev,
      version: prev.version + 1,
      severity: escalated ? 'critical' : prev.severity,
      lastSeen: Math.max(prev.lastSeen, f.at),
      findings: prev.findings + 1,
      blocked,
      // Keep the strongest evidence: a critical alert is not described by a later warning-level count.
      evidence: f.severity === prev.severity || escalated ? f.evidence : prev.evidence,
    };
    e.alert = alert;
    e.touched = now;
    if (escalated || blocked.length !== prev.blocked.length || now - e.stored >= this.o.updateEveryMs) {
      e.stored = now;
      return { kind: escalated ? 'escalated' : 'updated', alert };
    }
    return undefined;
  }

  /** Resolves alerts without findings for `resolveAfterMs`. */
  tick(now: number): AlertChange[] {
    const out: AlertChange[] = [];
    for (const [key, e] of this.#open) {
      if (now - e.touched < this.o.resolveAfterMs) continue;
      this.#open.delete(key);
      out.push({ kind: 'resolved', alert: { ...e.alert, version: e.alert.version + 1, state: 'resolved', resolvedAt: now } });
    }
    return out;
  }

  get firing(): readonly Alert[] {
    return [...this.#open.values()].map((e) => e.alert);
  }
}

function alertId(key: string, firstSeen: number): string {
  return createHash('sha256').update(`${key}|${firstSeen}`).digest('base64url').slice(0, 22);
}
