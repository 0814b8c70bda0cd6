/**
 * Block and unblock as the outside sees them (detectors in the guard, operators through the API): decide on the
 * shared state, write the record to the blocklist log, leave an audit row. Both processes build one of these on
 * their own replica of the log.
 */
import { TollgateError } from '../shared/errors.ts';
import type { Blocklist, BlockRecord, BlockRequest, BlockDecision } from './blocklist.ts';
import type { BlocklistLog } from './blocklist-log.ts';
import { GuardErrors } from './errors.ts';

export interface AuditRow {
  readonly ts: number;
  readonly ip: string;
  readonly action: 'block' | 'unblock' | 'expire' | 'refuse';
  readonly reason: string;
  readonly detector: string;
  readonly actor: string;
  readonly alertId: string;
  readonly ttlS: number;
  readonly offences: number;
  readonly expiresAt: number | null;
}

export interface BlocklistView {
  active(now: number): BlockRecord[];
  get(ip: string): BlockRecord | undefined;
  isActive(ip: string, now: number): boolean;
  block(req: BlockRequest): Promise<BlockDecision>;
  unblock(ip: string, reason: string, actor: string): Promise<BlockRecord | undefined>;
}

export class BlocklistService implements BlocklistView {
  constructor(
    private readonly state: Blocklist,
    private readonly log: Pick<BlocklistLog, 'write'>,
    private readonly audit: (row: AuditRow) => void,
    private readonly now: () => number = Date.now,
  ) {}

  active(now: number): BlockRecord[] {
    return this.state.active(now);
  }

  get(ip: string): BlockRecord | undefined {
    return this.state.get(ip);
  }

  isActive(ip: string, now: number): boolean {
    return this.state.isActive(ip, now);
  }

  async block(req: BlockRequest): Promise<BlockDecision> {
    const now = this.now();
    const d = this.state.decideBlock(req, now);
    if (d.kind === 'allowlisted') {
      this.audit({ ts: now, ip: req.ip, action: 'refuse', reason: `allowlisted; asked: ${req.reason}`, detector: req.detector, actor: req.actor, alertId: req.alertId ?? '', ttlS: 0, offences: 0, expiresAt: null });
      if (req.detector === 'manual') throw new TollgateError(GuardErrors.allowlisted, `${req.ip} is on the allowlist (GUARD_ALLOWLIST) and is never blocked`, { ip: req.ip });
      return d;
    }
    if (d.kind !== 'block') return d;
    const r = d.record;
    await this.log.write(r);
    this.audit({ ts: now, ip: r.ip, action: 'block', reason: r.reason, detector: r.detector, actor: r.actor, alertId: r.alertId, ttlS: Math.round((r.expiresAt - now) / 1000), offences: r.offences, expiresAt: r.expiresAt });
    return d;
  }

  async unblock(ip: string, reason: string, actor: string): Promise<BlockRecord | undefined> {
    const now = this.now();
    const r = this.state.decideUnblock(ip, reason, actor, now);
    if (r === undefined) return undefined;
    await this.log.write(r);
    this.audit({ ts: now, ip, action: 'unblock', reason, detector: r.detector, actor, alertId: r.alertId, ttlS: 0, offences: r.offences, expiresAt: null });
    return r;
  }
}

export function auditRow(a: AuditRow, node: string): Record<string, unknown> {
  return {
    ts: chTime(a.ts), ip: a.ip, action: a.action, reason: a.reason, detector: a.detector, actor: a.actor, alert_id: a.alertId, ttl_s: a.ttlS,
    offences: a.offences, expires_at: a.expiresAt === null ? null : chTime(a.expiresAt), node,
  };
}

/** DateTime64(3) text, UTC. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}
