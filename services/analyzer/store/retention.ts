/**
 * RETENTION_* settings → table TTLs. The migrations create each table with a default TTL; at start the analyzer
 * reads the TTL in force and issues `ALTER TABLE ... MODIFY TTL` only when the configured days differ, so a
 * restart with unchanged settings touches nothing.
 */
import type { SqlStore } from '../../shared/clickhouse/client.ts';
import { TollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';

export interface RetentionRule {
  readonly table: string;
  /** The DateTime64 column the TTL counts from. */
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

/** Days of the TTL in an engine description, or undefined when there is none we recognise. */
export function ttlDays(engineFull: string): number | undefined {
  const m = /\bTTL\s+toDateTime\(\w+\)\s*\+\s*toIntervalDay\((?:_CAST\()?(\d+)/.exec(engineFull);
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
      await store.command('ALTER TABLE {t:Identifier} MODIFY TTL toDateTime({c:Identifier}) + toIntervalDay({d:UInt32})',
        { t: r.table, c: r.column, d: r.days });
      changed.push(`${r.table}: ${current ?? 'none'} → ${r.days} days`);
    } catch (err) {
      throw new TollgateError(AnalyzerErrors.retentionFailed, `could not apply retention to ${r.table}: ${(err as Error).message}`,
        { table: r.table, days: r.days }, { cause: err });
    }
  }
  return changed;
}
