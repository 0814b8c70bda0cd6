/**
 * Ordered, immutable ClickHouse migrations. Files in `sql/` are named `NNNN_description.sql`; each is applied once
 * and recorded with its SHA-256 in `schema_migrations`. An applied file that has changed since is refused: history
 * must not be rewritten under a running database; add a new migration instead.
 *
 * ClickHouse has no transactional DDL, so a migration that fails halfway is not rolled back. Statements therefore
 * use `IF NOT EXISTS` / `IF EXISTS`, which makes re-running a half-applied migration safe.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { defineError, TollgateError } from '../errors.ts';
import type { SqlStore } from './client.ts';
import { splitStatements } from './statements.ts';

export const MIGRATION_CHECKSUM_MISMATCH = defineError('TG_MIGRATION_CHECKSUM_MISMATCH',
  'An applied migration file was changed afterwards.');
export const MIGRATION_UNKNOWN_APPLIED = defineError('TG_MIGRATION_UNKNOWN_APPLIED',
  'The database records a migration that is not in the migrations folder (older code against a newer schema).');
export const MIGRATION_BAD_NAME = defineError('TG_MIGRATION_BAD_NAME', 'A migration file name does not follow NNNN_description.sql.');
export const MIGRATION_FAILED = defineError('TG_MIGRATION_FAILED', 'A migration statement failed.');

export interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const files: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (!m) {
      throw new TollgateError(MIGRATION_BAD_NAME,
        `migration file "${name}" must be named NNNN_description.sql (4 digits, lower-case words joined by "_")`, { file: name });
    }
    const version = Number(m[1]);
    const clash = seen.get(version);
    if (clash) {
      throw new TollgateError(MIGRATION_BAD_NAME, `migrations "${clash}" and "${name}" share version ${m[1]}`, { file: name });
    }
    seen.set(version, name);
    const text = (await readFile(path.join(dir, name), 'utf8')).replace(/\r\n/g, '\n');
    files.push({ version, name, checksum: createHash('sha256').update(text).digest('hex'), statements: splitStatements(text) });
  }
  return files;
}

const LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version UInt32,
  name String,
  checksum FixedString(64),
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version`;

export interface MigrateOptions {
  /** Store on the server's default database, used to create ours. */
  readonly admin: SqlStore;
  /** Store whose default database is the target. */
  readonly store: SqlStore;
  readonly database: string;
  readonly dir: string;
  readonly progress?: (line: string) => void;
}

export async function migrate(opts: MigrateOptions): Promise<MigrationReport> {
  const files = await loadMigrations(opts.dir);
  await opts.admin.command('CREATE DATABASE IF NOT EXISTS {db:Identifier}', { db: opts.database });
  await opts.store.command(LEDGER);
  const rows = await opts.store.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
  const applied = new Map(rows.map((r) => [Number(r.version), r]));

  const byVersion = new Map(files.map((f) => [f.version, f]));
  for (const [version, row] of applied) {
    const file = byVersion.get(version);
    if (!file) {
      throw new TollgateError(MIGRATION_UNKNOWN_APPLIED,
        `database ${opts.database} has migration ${row.name} applied, but ${opts.dir} has no file with version ${version}: ` +
        'is this an older tollgate against a newer schema?', { version, name: row.name });
    }
    if (file.checksum !== row.checksum) {
      throw new TollgateError(MIGRATION_CHECKSUM_MISMATCH,
        `migration ${file.name} was applied with checksum ${row.checksum.slice(0, 12)}… but the file now has ` +
        `${file.checksum.slice(0, 12)}…: applied migrations are immutable; revert the edit and add a new migration`,
        { version, name: file.name, applied: row.checksum, file: file.checksum });
    }
  }

  const done: string[] = [];
  for (const file of files) {
    if (applied.has(file.version)) continue;
    opts.progress?.(`applying migration ${file.name} (${file.statements.length} statements)`);
    for (const [i, stmt] of file.statements.entries()) {
      try {
        await opts.store.command(stmt);
      } catch (err) {
        throw new TollgateError(MIGRATION_FAILED,
          `migration ${file.name} failed at statement ${i + 1} of ${file.statements.length}: ${(err as Error).message}`,
          { name: file.name, statement: i + 1 }, { cause: err });
      }
    }
    await opts.store.insert('schema_migrations', [{ version: file.version, name: file.name, checksum: file.checksum }]);
    done.push(file.name);
  }
  return { applied: done, alreadyApplied: applied.size };
}
