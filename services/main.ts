/**
 * Every tollgate service, one process each, under one supervisor (`services/supervisor/`): the production entry
 * point (`deploy/Dockerfile`). KAFKA_BROKERS and CLICKHOUSE_URL must be set; `npm start` (`scripts/start.ts`) is
 * the development entry that brings up the embedded stack when they are not.
 */
import { resolveEndpoints } from './endpoints.ts';
import { runSupervisor } from './supervisor/run.ts';

await runSupervisor({
  env: process.env,
  endpoints: (config) => resolveEndpoints(config),
});
