/**
 * The dev/CI ClickHouse of the local stack: the ClickHouse engine (PyPI `chdb`) behind a ClickHouse HTTP endpoint
 * (`clickhouse/server.py`). Production runs a real ClickHouse server; no server binary is installable here, so
 * this part gives services and tests the same HTTP interface over the same engine.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TollgateError, defineError } from '../../services/shared/errors.ts';
import type { PartStatus, StackContext, StackPart } from './part.ts';

export const clickhouseErrors = {
  venv: defineError('TG_STACK_CLICKHOUSE_VENV', 'Creating the Python venv or installing chdb for the dev ClickHouse failed', true),
  start: defineError('TG_STACK_CLICKHOUSE_START', 'The dev ClickHouse endpoint exited or did not answer /ping in time', true),
  stop: defineError('TG_STACK_CLICKHOUSE_STOP', 'The dev ClickHouse endpoint process group survived SIGKILL'),
} as const;

export interface ClickhousePartOptions {
  readonly host?: string;
  readonly port?: number;
  /** Interpreter used to create the venv; the endpoint needs Python 3.11 or newer. */
  readonly python?: string;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** Extra `server.py` flags (limits such as `--engine-connections`; `server.py --help` lists them). */
  readonly serverArgs?: readonly string[];
}

const here = fileURLToPath(new URL('./clickhouse/', import.meta.url));
const serverScript = join(here, 'server.py');
const requirementsFile = join(here, 'requirements.txt');

export function createClickhousePart(opts: ClickhousePartOptions = {}): StackPart {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8123;
  const python = opts.python ?? 'python3';
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 15_000;
  const endpoint = `http://${host}:${port}`;
  const paths = (ctx: StackContext) => ({
    venv: join(ctx.cacheDir, 'py-chdb'),
    log: join(ctx.runDir, 'clickhouse.log'),
    pid: join(ctx.runDir, 'clickhouse.pid'),
    data: join(ctx.runDir, 'clickhouse-data'),
  });

  async function status(ctx: StackContext): Promise<PartStatus> {
    const pid = await livePid(paths(ctx).pid);
    const running = await ping(host, port, 1_000);
    return {
      name: 'clickhouse',
      running,
      endpoint,
      ...(pid !== undefined ? { pid } : {}),
      detail: running ? 'chdb engine behind the ClickHouse HTTP interface' : 'not answering /ping',
    };
  }

  async function up(ctx: StackContext): Promise<PartStatus> {
    if (await ping(host, port, 1_000)) return status(ctx);
    const p = paths(ctx);
    await mkdir(ctx.runDir, { recursive: true });
    const venvPython = await ensureVenv(ctx, python, p.venv);

    ctx.progress(`clickhouse: starting the dev endpoint on ${endpoint} (log ${p.log})`);
    const log = await open(p.log, 'a');
    let exited: number | null | undefined;
    try {
      const args = [serverScript, '--host', host, '--port', String(port), '--data', p.data, '--pid-file', p.pid];
      const child = spawn(venvPython, [...args, ...(opts.serverArgs ?? [])], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
      });
      child.once('exit', (code) => {
        exited = code;
      });
      if (child.pid === undefined) {
        throw new TollgateError(clickhouseErrors.start, `could not spawn ${venvPython}; see ${p.log}`, { log: p.log });
      }
      child.unref();
    } finally {
      await log.close();
    }

    const deadline = Date.now() + startTimeoutMs;
    let announced = false;
    while (!(await ping(host, port, 1_000))) {
      // the server writes the pid file itself once it holds the port and the data dir, so a racing `up` that
      // loses leaves the winner's pid in place
      if (exited !== undefined) {
        throw new TollgateError(
          clickhouseErrors.start,
          `the dev ClickHouse endpoint exited with code ${exited} before answering /ping; see ${p.log}`,
          { log: p.log, exitCode: exited },
        );
      }
      if (Date.now() > deadline) {
        throw new TollgateError(
          clickhouseErrors.start,
          `the dev ClickHouse endpoint did not answer ${endpoint}/ping within ${startTimeoutMs} ms; see ${p.log}`,
          { log: p.log },
        );
      }
      if (!announced) {
        ctx.progress('clickhouse: waiting for /ping');
        announced = true;
      }
      await sleep(150);
    }
    return status(ctx);
  }

  async function down(ctx: StackContext): Promise<void> {
    const pidFile = paths(ctx).pid;
    const pid = await livePid(pidFile);
    if (pid === undefined) {
      await rm(pidFile, { force: true });
      return;
    }
    // the server runs in its own process group: signal the group so nothing it started outlives it
    signalGroup(pid, 'SIGTERM');
    if (!(await waitGone(pid, stopTimeoutMs))) {
      signalGroup(pid, 'SIGKILL');
      if (!(await waitGone(pid, 5_000))) {
        throw new TollgateError(clickhouseErrors.stop, `process group ${pid} survived SIGKILL`, { pid });
      }
    }
    await rm(pidFile, { force: true });
  }

  return { name: 'clickhouse', up, down, status };
}

export const clickhousePart: StackPart = createClickhousePart();

/** The endpoint's script and the venv interpreter that runs it (the venv is made on first use), for callers that
 * run the endpoint somewhere `up` cannot, such as inside a private network namespace. */
export async function clickhouseEndpointCommand(ctx: StackContext, python = 'python3'): Promise<{ python: string; script: string }> {
  return { python: await ensureVenv(ctx, python, join(ctx.cacheDir, 'py-chdb')), script: serverScript };
}

/** Reuses the venv while its marker holds the hash of requirements.txt, so warm starts skip pip entirely. */
async function ensureVenv(ctx: StackContext, python: string, venv: string): Promise<string> {
  const venvPython = join(venv, 'bin', 'python');
  const marker = join(venv, '.tollgate-requirements.sha256');
  const requirements = await readFile(requirementsFile);
  const wanted = createHash('sha256').update(requirements).digest('hex');
  const have = await readFile(marker, 'utf8').catch(() => '');
  if (have.trim() === wanted && existsSync(venvPython)) return venvPython;

  await mkdir(ctx.cacheDir, { recursive: true });
  if (!existsSync(venvPython)) {
    ctx.progress(`clickhouse: creating Python venv ${venv}`);
    await run(python, ['-m', 'venv', venv]);
  }
  ctx.progress('clickhouse: installing chdb into the venv (first run only; about 100 MB)');
  await run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirementsFile]);
  await writeFile(marker, `${wanted}\n`);
  return venvPython;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) =>
      reject(new TollgateError(clickhouseErrors.venv, `${cmd} could not start: ${err.message}`, { cmd }, { cause: err })),
    );
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new TollgateError(clickhouseErrors.venv, `${cmd} ${args.join(' ')} exited ${code}:\n${output}`, { cmd, code }));
    });
  });
}

function ping(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/ping', method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body === 'Ok.\n'));
      res.on('error', () => resolve(false));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function livePid(pidFile: string): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  return !alive(pid);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
