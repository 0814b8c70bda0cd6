/**
 * The embedded local stack as a library: the CLI, `npm start` and integration tests all go through here so they
 * agree on paths, ports and which parts are external. Environment values come in as an argument; only entry
 * points read `process.env`.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhousePart, createClickhousePart } from './clickhouse.ts';
import { createKafkaPart, kafkaPart } from './kafka.ts';
import { probeKafkaPort } from './kafka/probe.ts';
import type { PartStatus, StackContext, StackPart } from './part.ts';

export type StackEnv = Readonly<Record<string, string | undefined>>;

export interface StackEndpoints {
  readonly kafkaBrokers: string[];
  readonly clickhouseUrl: string;
}

export interface StackReport extends StackEndpoints {
  readonly parts: PartStatus[];
}

export interface StackUpReport extends StackReport {
  /** Names of the parts this call started (the others were running already or are external). */
  readonly started: string[];
}

export interface LocalStack {
  readonly runDir: string;
  readonly cacheDir: string;
  /** Kafka first: ClickHouse does not depend on it, but a failing JVM is the likelier early stop. */
  readonly parts: StackPart[];
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function parseBrokers(list: string): string[] {
  return list.split(',').map((b) => b.trim()).filter((b) => b !== '');
}

/** Stands for a part someone else runs: never started or stopped, only checked. */
function externalPart(name: string, endpoint: string, check: () => Promise<boolean>): StackPart {
  const status = async (): Promise<PartStatus> => ({ name, running: await check(), endpoint, detail: 'external' });
  return { name, up: status, down: async () => undefined, status };
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  for (const broker of brokers) {
    const i = broker.lastIndexOf(':');
    if ((await probeKafkaPort(broker.slice(0, i), Number(broker.slice(i + 1)))) === 'kafka') return true;
  }
  return false;
}

async function clickhouseAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/ping', url), { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Ports of the embedded parts: the defaults every developer knows (9092, 9093, 8123), or others so a second stack
 * (a test that stops its own) can run beside the shared one.
 */
function portOf(env: StackEnv, name: string, def: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return def;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`${name}=${JSON.stringify(raw)} is invalid: expected a port number 1-65535`);
  return n;
}

function embeddedParts(env: StackEnv): { kafka: StackPart; clickhouse: StackPart } {
  const kafkaPort = portOf(env, 'TOLLGATE_STACK_KAFKA_PORT', 9092);
  const controllerPort = portOf(env, 'TOLLGATE_STACK_KAFKA_CONTROLLER_PORT', 9093);
  const clickhousePort = portOf(env, 'TOLLGATE_STACK_CLICKHOUSE_PORT', 8123);
  return {
    kafka: kafkaPort === 9092 && controllerPort === 9093 ? kafkaPart : createKafkaPart({ port: kafkaPort, controllerPort }),
    clickhouse: clickhousePort === 8123 ? clickhousePart : createClickhousePart({ port: clickhousePort }),
  };
}

export function localStackParts(env: StackEnv): LocalStack {
  // Absolute, because parts put these paths into pid files and server command lines that later runs compare.
  const runDir = resolve(nonEmpty(env.TOLLGATE_STACK_DIR) ?? join(REPO_ROOT, '.run', 'stack'));
  const cacheDir = resolve(
    nonEmpty(env.TOLLGATE_CACHE_DIR) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), '.cache'), 'tollgate'),
  );
  const brokers = nonEmpty(env.KAFKA_BROKERS);
  const chUrl = nonEmpty(env.CLICKHOUSE_URL);
  const embedded = embeddedParts(env);
  const kafka = brokers === undefined ? embedded.kafka : externalPart('kafka', brokers, () => kafkaAnswers(parseBrokers(brokers)));
  const clickhouse = chUrl === undefined ? embedded.clickhouse : externalPart('clickhouse', chUrl, () => clickhouseAnswers(chUrl));
  return { runDir, cacheDir, parts: [kafka, clickhouse] };
}

function contextOf(stack: LocalStack, progress: (line: string) => void): StackContext {
  return { runDir: stack.runDir, cacheDir: stack.cacheDir, progress };
}

function reportOf(parts: PartStatus[]): StackReport {
  const endpoint = (name: string): string => parts.find((p) => p.name === name)?.endpoint ?? '';
  return { kafkaBrokers: parseBrokers(endpoint('kafka')), clickhouseUrl: endpoint('clickhouse'), parts };
}

/** Starts what is not running (parts in order, so progress lines stay readable) and returns where clients connect. */
export async function stackUp(env: StackEnv, progress: (line: string) => void = () => undefined): Promise<StackUpReport> {
  const stack = localStackParts(env);
  const ctx = contextOf(stack, progress);
  const statuses: PartStatus[] = [];
  const started: string[] = [];
  for (const part of stack.parts) {
    const before = await part.status(ctx);
    const after = await part.up(ctx);
    if (!before.running && after.running) started.push(part.name);
    statuses.push(after);
  }
  const down = statuses.filter((s) => !s.running);
  if (down.length > 0) {
    throw new Error(`stack parts not running: ${down.map((s) => `${s.name} at ${s.endpoint} (${s.detail ?? 'no detail'})`).join(', ')}`);
  }
  return { ...reportOf(statuses), started };
}

/**
 * Stops in reverse order (only the parts named in `only`, when given); every part is attempted even when one
 * fails, then the first failure is thrown.
 */
export async function stackDown(env: StackEnv, progress: (line: string) => void = () => undefined, only?: readonly string[]): Promise<void> {
  const stack = localStackParts(env);
  const ctx = contextOf(stack, progress);
  const errors: unknown[] = [];
  for (const part of [...stack.parts].reverse()) {
    if (only !== undefined && !only.includes(part.name)) continue;
    await part.down(ctx).catch((err: unknown) => errors.push(err));
  }
  if (errors.length > 0) throw errors[0];
}

export async function stackStatus(env: StackEnv): Promise<StackReport> {
  const stack = localStackParts(env);
  const ctx = contextOf(stack, () => undefined);
  return reportOf(await Promise.all(stack.parts.map((part) => part.status(ctx))));
}
