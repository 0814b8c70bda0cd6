/**
 * Builds the configured API server: keys from API_KEYS / API_KEYS_FILE, the built-in call routes over the
 * analyzer's tables, and any extra resource plugins (blocklist, alerts, CDRs, accounts ...) passed in `routes`.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SqlStore } from '../shared/clickhouse/client.ts';
import type { Parsed } from '../shared/config/settings.ts';
import { defineError, TollgateError } from '../shared/errors.ts';
import type { HealthReport } from '../shared/lifecycle.ts';
import { KeyRing, parseKeys } from './keys.ts';
export type { KeyRing } from './keys.ts';
import { callRoutes } from './routes/calls.ts';
import { registrationRoutes } from './routes/registrations.ts';
import { qosRoutes } from './routes/qos.ts';
import { statsRoutes } from './routes/stats.ts';
import { ApiServer, type ApiRoutes } from './server.ts';
import type { DataRouteOptions } from './routes/common.ts';
import type { apiSettings } from './settings.ts';

export const API_KEYS_FILE_UNREADABLE = defineError('TG_API_KEYS_FILE_UNREADABLE', 'API_KEYS_FILE could not be read.');

export type ApiConfig = Parsed<typeof apiSettings>;

export interface ApiDeps {
  readonly store: SqlStore;
  readonly log: Logger;
  readonly registry: Registry;
  readonly health: () => HealthReport;
  /**
   * Extra resource plugins, registered after the built-in ones; as a function when a plugin needs the key ring
   * (e.g. APIBAN-style routes that take the key in the path: `keys.lookup(key)`).
   */
  readonly routes?: readonly ApiRoutes[] | ((keys: KeyRing) => readonly ApiRoutes[]);
}


export function loadKeyRing(config: Pick<ApiConfig, 'apiKeys' | 'apiKeysFile'>): KeyRing {
  let file: { name: string; text: string } | undefined;
  if (config.apiKeysFile !== undefined) {
    try {
      file = { name: basename(config.apiKeysFile), text: readFileSync(config.apiKeysFile, 'utf8') };
    } catch (err) {
      throw new TollgateError(API_KEYS_FILE_UNREADABLE, `API_KEYS_FILE ${config.apiKeysFile}: ${(err as Error).message}`, {}, { cause: err });
    }
  }
  return new KeyRing(parseKeys(config.apiKeys, file));
}

export function dataRouteOptions(config: ApiConfig, store: SqlStore): DataRouteOptions {
  return { store, maskNumbers: config.apiMaskNumbers, maxRangeMs: config.apiMaxRange, publicUrl: config.apiPublicUrl };
}

export function buildApiServer(config: ApiConfig, deps: ApiDeps): ApiServer {
  const keys = loadKeyRing(config);
  if (keys.size === 0) deps.log.warn('no API key configured (API_KEYS / API_KEYS_FILE): every /v1 request will be refused');
  const data = dataRouteOptions(config, deps.store);
  return new ApiServer({
    host: config.apiHost,
    port: config.apiPort,
    log: deps.log,
    registry: deps.registry,
    health: deps.health,
    keys,
    rateLimitPerMinute: config.apiRateLimit,
    routes: [
      { plugin: callRoutes, options: data },
      { plugin: registrationRoutes, options: data },
      { plugin: qosRoutes, options: data },
      { plugin: statsRoutes, options: data },
      ...(typeof deps.routes === 'function' ? deps.routes(keys) : deps.routes ?? []),
    ],
  });
}
