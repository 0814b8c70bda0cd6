/**
 * The repository's schema (`sql/`) applied to one database: what a service started on its own does before it
 * touches a table (under `npm start` the supervisor does it once for every child).
 */
import { fileURLToPath } from 'node:url';
import { createClickhouseStore, type ClickhouseOptions, type SqlStore } from './client.ts';
import { migrate, type MigrationReport } from './migrations.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../../../sql/', import.meta.url));

/** Migrates `database` (created if missing, through a short-lived connection to the server's default database). */
export async function applySchema(conn: Omit<ClickhouseOptions, 'database'>, store: SqlStore, database: string): Promise<MigrationReport> {
  const admin = createClickhouseStore(conn);
  try {
    return await migrate({ admin, store, database, dir: SCHEMA_DIR });
  } finally {
    await admin.close();
  }
}
