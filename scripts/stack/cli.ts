/**
 * `npm run stack -- up|down|status`: the embedded local stack for development and tests.
 * Exit codes: 0 success (for status: every part running), 1 failure, 2 bad usage, 3 status with a part down.
 */
import type { PartStatus } from './part.ts';
import { stackDown, stackStatus, stackUp } from './index.ts';

const USAGE = `usage: npm run stack -- <up|down|status>

  up       start Kafka and ClickHouse unless running (or external), wait until ready
  down     stop what this stack started
  status   show each part; exit 0 if all run, 3 otherwise

environment:
  KAFKA_BROKERS        use these brokers (comma-separated) instead of starting Kafka
  CLICKHOUSE_URL       use this ClickHouse HTTP endpoint instead of starting one
  TOLLGATE_STACK_DIR   pid files, logs and data (default <repo>/.run/stack)
  TOLLGATE_CACHE_DIR   downloaded jars and engines (default $XDG_CACHE_HOME/tollgate or ~/.cache/tollgate)
  TOLLGATE_STACK_KAFKA_PORT, TOLLGATE_STACK_KAFKA_CONTROLLER_PORT, TOLLGATE_STACK_CLICKHOUSE_PORT
                       ports of the embedded parts (default 9092, 9093, 8123), for a second stack beside the first`;

function table(parts: PartStatus[]): string {
  const rows = [['part', 'state', 'endpoint', 'pid', 'detail'], ...parts.map((p) => [
    p.name, p.running ? 'running' : 'down', p.endpoint, p.pid === undefined ? '-' : String(p.pid), p.detail ?? '',
  ])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(command: string | undefined): Promise<number> {
  const env = process.env;
  switch (command) {
    case 'up': {
      const started = Date.now();
      const report = await stackUp(env, progress);
      process.stdout.write(`${table(report.parts)}\n`);
      progress(`stack up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down':
      await stackDown(env, progress);
      process.stdout.write(`${table((await stackStatus(env)).parts)}\n`);
      return 0;
    case 'status': {
      const report = await stackStatus(env);
      process.stdout.write(`${table(report.parts)}\n`);
      return report.parts.every((p) => p.running) ? 0 : 3;
    }
    default:
      process.stderr.write(`${command === undefined ? 'missing command' : `unknown command: ${command}`}\n${USAGE}\n`);
      return 2;
  }
}

const args = process.argv.slice(2);
if (args.length > 1 || args[0] === '-h' || args[0] === '--help') {
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = args[0] === '-h' || args[0] === '--help' ? 0 : 2;
} else {
  main(args[0]).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`stack ${args[0]} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
