/**
 * `npm run analyzer-columns`: applies `sql/` to a scratch database and writes the analyzer's column spec
 * (`services/analyzer/store/columns.ts`) from what ClickHouse reports, then drops the scratch database.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolveEndpoints } from '../services/endpoints.ts';
import { readColumns, renderColumns } from '../services/analyzer/store/column-spec.ts';
import { createClickhouseStore } from '../services/shared/clickhouse/client.ts';
import { migrate } from '../services/shared/clickhouse/migrations.ts';
import { commonSettings } from '../services/shared/config/common.ts';
import { parseSettings } from '../services/shared/config/settings.ts';

const config = parseSettings(commonSettings, process.env);
const { clickhouseUrl: url } = await resolveEndpoints(config, (line) => process.stdout.write(`${line}\n`), 'clickhouse');
const database = `tg_columns_${randomBytes(4).toString('hex')}`;
const opts = { url, user: config.clickhouseUser, password: config.clickhousePassword };
const admin = createClickhouseStore(opts);
const store = createClickhouseStore({ ...opts, database });
try {
  await migrate({ admin, store, database, dir: fileURLToPath(new URL('../sql/', import.meta.url)) });
  const out = fileURLToPath(new URL('../services/analyzer/store/columns.ts', import.meta.url));
  writeFileSync(out, renderColumns(await readColumns(store)));
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await admin.command('DROP DATABASE IF EXISTS {db:Identifier}', { db: database });
  await Promise.all([admin.close(), store.close()]);
}
