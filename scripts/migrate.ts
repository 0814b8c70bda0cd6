/** `npm run migrate`: applies `sql/` migrations to CLICKHOUSE_URL / CLICKHOUSE_DATABASE (or the local stack). */
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../services/settings.ts';
import { createClickhouseStore } from '../services/shared/clickhouse/client.ts';
import { migrate } from '../services/shared/clickhouse/migrations.ts';
import { ConfigError } from '../services/shared/config/settings.ts';
import { isTollgateError } from '../services/shared/errors.ts';
import { resolveDevEndpoints } from './stack/endpoints.ts';

try {
  const config = loadConfig(process.env);
  const { clickhouseUrl: url } = await resolveDevEndpoints(config, process.env, (line) => process.stdout.write(`${line}\n`), 'clickhouse');
  const opts = { url, user: config.clickhouseUser, password: config.clickhousePassword };
  const admin = createClickhouseStore(opts);
  const store = createClickhouseStore({ ...opts, database: config.clickhouseDatabase });
  const report = await migrate({
    admin, store, database: config.clickhouseDatabase, dir: fileURLToPath(new URL('../sql/', import.meta.url)),
    progress: (line) => process.stdout.write(`${line}\n`),
  });
  await Promise.all([admin.close(), store.close()]);
  process.stdout.write(`migrations: ${report.applied.length} applied, ${report.alreadyApplied} already applied\n`);
} catch (err) {
  if (err instanceof ConfigError || isTollgateError(err)) {
    process.stderr.write(`migrate: ${(err as Error).message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  throw err;
}
