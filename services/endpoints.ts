/**
 * Which Kafka and ClickHouse a process talks to: the configured ones, and for each one it needs that is left unset,
 * the embedded local stack's, brought up on demand. Entry points only; production sets both and never loads the
 * dev stack, which is why it is imported lazily.
 */
export interface Endpoints {
  readonly kafkaBrokers: string[];
  readonly clickhouseUrl: string;
  /** True when the local stack was brought up for at least one of them. */
  readonly embedded: boolean;
}

export interface Configured {
  readonly kafkaBrokers?: readonly string[] | undefined;
  readonly clickhouseUrl?: URL | undefined;
}

type Progress = (line: string) => void;

export function resolveEndpoints(configured: Configured, progress: Progress, need: 'kafka'): Promise<Pick<Endpoints, 'kafkaBrokers' | 'embedded'>>;
export function resolveEndpoints(configured: Configured, progress: Progress, need: 'clickhouse'): Promise<Pick<Endpoints, 'clickhouseUrl' | 'embedded'>>;
export function resolveEndpoints(configured: Configured, progress: Progress, need?: 'both'): Promise<Endpoints>;
export async function resolveEndpoints(configured: Configured, progress: Progress, need: 'kafka' | 'clickhouse' | 'both' = 'both'): Promise<Partial<Endpoints>> {
  const kafkaBrokers = configured.kafkaBrokers ? [...configured.kafkaBrokers] : undefined;
  const clickhouseUrl = configured.clickhouseUrl?.toString();
  const missing = [
    need !== 'clickhouse' && kafkaBrokers === undefined ? 'KAFKA_BROKERS' : undefined,
    need !== 'kafka' && clickhouseUrl === undefined ? 'CLICKHOUSE_URL' : undefined,
  ].filter((x): x is string => x !== undefined);
  if (missing.length === 0) return { kafkaBrokers, clickhouseUrl, embedded: false };
  progress(`${missing.join(' and ')} unset: bringing up the embedded local stack`);
  const { stackUp } = await import('../scripts/stack/index.ts');
  const local = await stackUp(process.env, progress);
  return {
    kafkaBrokers: kafkaBrokers ?? [...local.kafkaBrokers],
    clickhouseUrl: clickhouseUrl ?? local.clickhouseUrl,
    embedded: true,
  };
}
