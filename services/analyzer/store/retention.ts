/**
 * RETENTION_* settings → table TTLs. The migrations create each table with a default TTL; at start the analyzer
 * reads the TTL in force and issues `ALTER TABLE ... MODIFY TTL` only when the configured days (or the expression)
 * differ, so a restart with unchanged settings touches nothing.
 *
 * Retention counts from arrival: `greatest(<capture time>, received_at)`. Counting from capture time alone made the
 * store drop an old capture at insert (a replayed pcap, an agent whose clock is years behind) without a trace; the
 * capture time stays as captured, and rows whose capture time alone is past the retention are counted instead
 * (sql/0004_analyzer_idle_auth_retention.sql).
 */
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { TollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';

export interface RetentionRule {
  readonly table: string;
  /** The DateTime64 capture-time column; the TTL counts from the later of it and `received_at`. */
  readonly column: string;
  readonly days: number;
}


export function retentionRules(c: {
  retentionSipMessages: number; retentionSipQuarantine: number; retentionQos: number; retentionCalls: number; retentionRegistrations: number;
}): RetentionRule[] {
  return [
    { table: 'sip_messages', column: 'ts', days: c.retentionSipMessages },
    { table: 'sip_quarantine', column: 'ts', days: c.retentionSipQuarantine },
    { table: 'qos', column: 'ts', days: c.retentionQos },
    { table: 'calls', column: 'setup_ts', days: c.retentionCalls },
    { table: 'registrations', column: 'ts', days: c.retentionRegistrations },
  ];
}

/** Days of an arrival-based TTL in an engine description, or undefined when there is none we recognise (an
 * older capture-time TTL reads as none, so it is replaced). */
export function ttlDays(engineFull: string): number | undefined {
  const m = /\bTTL\s+toDateTime\(greatest\(\w+,\s*received_at\)\)\s*\+\s*toIntervalDay\((?:_CAST\()?(\d+)/.exec(engineFull);
  return m ? Number(m[1]) : undefined;
}

export async function applyRetention(store: SqlStore, rules: readonly RetentionRule[]): Promise<string[]> {
  const changed: string[] = [];
  for (const r of rules) {
    if (!Number.isInteger(r.days) || r.days < 1) {
      throw new TollgateError(AnalyzerErrors.retentionFailed, `retention of ${r.table} must be a positive integer of days, got ${r.days}`);
    }
    try {
      const rows = await store.query<{ engine_full: string }>(
        'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}', { t: r.table });
      const current = rows[0] === undefined ? undefined : ttlDays(rows[0].engine_full);
      if (current === r.days) continue;
      await store.command('ALTER TABLE {t:Identifier} MODIFY TTL toDateTime(greatest({c:Identifier}, received_at)) + toIntervalDay({d:UInt32})',
        { t: r.table, c: r.column, d: r.days });
      changed.push(`${r.table}: ${current ?? 'none'} → ${r.days} days`);
    } catch (err) {
      throw new TollgateError(AnalyzerErrors.retentionFailed, `could not apply retention to ${r.table}: ${(err as Error).message}`,
        { table: r.table, days: r.days }, { cause: err });
    }
  }
  return changed;
}

/** The per-minute rollups keep this many days counted from the capture minute (sql/0001, sql/0003). */
export const ROLLUP_DAYS = 400;
const DAY_US = 86_400_000_000;

/**
 * What the store will do with a row, decided before it is sent, so that nothing it drops goes unsaid:
 * `expired` — even counted from arrival the retention has passed (dropped at insert); `oldCapture` — kept only
 * because retention counts from arrival; `rollupDropped` — too old for the per-minute rollups.
 */
export class RetentionCheck {
  readonly #cutoffs: ReadonlyMap<string, number>;
  readonly #rollupCutoff: number;

  constructor(days: Readonly<Record<string, number>>, nowUs: number) {
    this.#cutoffs = new Map(Object.entries(days).map(([t, d]) => [t, nowUs - d * DAY_US]));
    this.#rollupCutoff = nowUs - ROLLUP_DAYS * DAY_US;
  }

  classify(table: string, captureUs: number, arrivalUs: number): { expired: boolean; oldCapture: boolean; rollupDropped: boolean } {
    const cutoff = this.#cutoffs.get(table) ?? -Infinity;
    return {
      expired: Math.max(captureUs, arrivalUs) < cutoff,
      oldCapture: captureUs < cutoff,
      rollupDropped: captureUs < this.#rollupCutoff,
    };
  }
}

/** Counts of one batch by table: rows the store will drop (by reason) and rows kept only thanks to arrival time. */
export class RetentionTally {
  readonly notKept = new Map<string, { table: string; reason: string; n: number }>();
  readonly oldCapture = new Map<string, number>();

  constructor(private readonly check: RetentionCheck) {}

  /** `rollup`: the per-minute table the row also feeds. */
  note(table: string, rollup: string, captureUs: number, arrivalUs: number): void {
    const c = this.check.classify(table, captureUs, arrivalUs);
    if (c.expired) this.#drop(table, 'expired_on_arrival');
    else if (c.oldCapture) this.oldCapture.set(table, (this.oldCapture.get(table) ?? 0) + 1);
    if (c.rollupDropped) this.#drop(rollup, 'capture_older_than_rollup_retention');
  }

  #drop(table: string, reason: string): void {
    const k = `${table}\n${reason}`;
    const e = this.notKept.get(k);
    if (e === undefined) this.notKept.set(k, { table, reason, n: 1 });
    else e.n++;
  }

  get empty(): boolean {
    return this.notKept.size === 0 && this.oldCapture.size === 0;
  }
}
