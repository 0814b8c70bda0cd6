/**
 * Everything tollgate prints during a test run, kept for the suite-wide secret scan (`test/zz-secret-scan.test.ts`,
 * the last file `npm test` runs): the output of every tollgate process a test spawns, the log lines of the services
 * tests run in-process, and the health bodies tests read. One folder per run: `node --test` runs each test file as
 * a child of one runner process, so the runner's pid names the run.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../services/shared/logger.ts';

export const TEST_OUTPUT_ROOT = fileURLToPath(new URL('../../.run/test-output/', import.meta.url));
export const RUN_OUTPUT_DIR = join(TEST_OUTPUT_ROOT, String(process.ppid));
/** Secrets a test generates at run time (random webhook secrets), one per line; the scan adds them to its list. */
export const RUN_SECRETS_FILE = join(RUN_OUTPUT_DIR, '.secrets');

const testFile = basename(process.argv[1] ?? 'unknown').replace(/\.test\.ts$/, '');

/** The file that keeps `source`'s output, created at once so the scan counts an output that stayed empty too. */
function fileFor(source: string): string {
  mkdirSync(RUN_OUTPUT_DIR, { recursive: true });
  const file = join(RUN_OUTPUT_DIR, `${testFile}.${source}.${process.pid}.log`);
  appendFileSync(file, '');
  return file;
}

/** Appends text a test saw (a health body, an error message) under `source`. */
export function recordOutput(source: string, text: string): void {
  appendFileSync(fileFor(source), text.endsWith('\n') ? text : `${text}\n`);
}

/** Copies a spawned tollgate process's stdout and stderr into the run's output, as they come. */
export function captureOutput(child: ChildProcess, source: string): void {
  const file = fileFor(source);
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer | string) => appendFileSync(file, d));
}

/**
 * The logger of a service a test runs in-process: the product's logger (same redaction), at info (TEST_LOG_LEVEL
 * overrides), written to the run's output instead of being silenced.
 */
export function testLogger(source: string): Logger {
  const file = fileFor(source);
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      appendFileSync(file, chunk);
      done();
    },
  });
  return createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'info', format: 'json', name: source, destination });
}

/** Adds a secret generated at run time to the scan's list. */
export function registerTestSecret(value: string): void {
  mkdirSync(RUN_OUTPUT_DIR, { recursive: true });
  appendFileSync(RUN_SECRETS_FILE, `${value}\n`);
}
