/**
 * Integration tests share one local stack per machine: the first test process to call `ensureLocalStack` starts
 * whatever is not running (or uses KAFKA_BROKERS / CLICKHOUSE_URL), later calls in the same process reuse the
 * answer. Nothing here stops the stack; other test files and developers rely on it staying up.
 */
import { randomBytes } from 'node:crypto';
import { stackUp } from '../../scripts/stack/index.ts';
import type { StackEndpoints } from '../../scripts/stack/index.ts';

let pending: Promise<StackEndpoints> | undefined;

export function ensureLocalStack(): Promise<{ kafkaBrokers: string[]; clickhouseUrl: string }> {
  pending ??= stackUp(process.env, (line) => process.stderr.write(`[stack] ${line}\n`)).then(
    (report) => ({ kafkaBrokers: [...report.kafkaBrokers], clickhouseUrl: report.clickhouseUrl }),
    (err: unknown) => {
      // A failed start must not be cached: the next test gets a fresh attempt and its own error.
      pending = undefined;
      throw err;
    },
  );
  return pending;
}

/**
 * A name no other run uses, valid both as a Kafka topic and as a ClickHouse identifier (letters, digits,
 * underscores), so parallel or aborted runs never see each other's data.
 */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^A-Za-z0-9_]/g, '_');
  return `${safe}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
