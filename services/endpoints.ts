/**
 * Which Kafka and ClickHouse a service process talks to: the configured ones. A service never starts
 * infrastructure; when what it needs is unset it refuses to start with a configuration error. The embedded
 * development stack is the dev entry point's business (`npm start` = `scripts/start.ts`, `scripts/stack/`), so a
 * production image without `scripts/` never loads it.
 */
import { ConfigError } from './shared/config/settings.ts';

export interface Endpoints {
  readonly kafkaBrokers: string[];
  readonly clickhouseUrl: string;
  /** True when the local stack was brought up for at least one of them (dev entry points only). */
  readonly embedded: boolean;
}

export interface Configured {
  readonly kafkaBrokers?: readonly string[] | undefined;
  readonly clickhouseUrl?: URL | undefined;
}

type Progress = (line: string) => void;
export type EndpointNeed = 'kafka' | 'clickhouse' | 'both';

/** The settings a process needs and has not got, by environment variable name. */
export function missingEndpoints(configured: Configured, need: EndpointNeed): string[] {
  return [
    need !== 'clickhouse' && configured.kafkaBrokers === undefined ? 'KAFKA_BROKERS' : undefined,
    need !== 'kafka' && configured.clickhouseUrl === undefined ? 'CLICKHOUSE_URL' : undefined,
  ].filter((x): x is string => x !== undefined);
}

export function resolveEndpoints(configured: Configured, progress: Progress, need: 'kafka'): Promise<Pick<Endpoints, 'kafkaBrokers' | 'embedded'>>;
export function resolveEndpoints(configured: Configured, progress: Progress, need: 'clickhouse'): Promise<Pick<Endpoints, 'clickhouseUrl' | 'embedded'>>;
export function resolveEndpoints(configured: Configured, progress?: Progress, need?: 'both'): Promise<Endpoints>;
export async function resolveEndpoints(configured: Configured, _progress?: Progress, need: EndpointNeed = 'both'): Promise<Partial<Endpoints>> {
  const missing = missingEndpoints(configured, need);
  if (missing.length > 0) {
    throw new ConfigError(missing.map((name) =>
      `${name} is not set: a service needs it configured (for a local development stack run \`npm start\` or \`npm run stack -- up\`)`));
  }
  return {
    kafkaBrokers: configured.kafkaBrokers ? [...configured.kafkaBrokers] : undefined,
    clickhouseUrl: configured.clickhouseUrl?.toString(),
    embedded: false,
  };
}
