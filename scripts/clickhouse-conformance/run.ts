/**
 * Conformance of the dev ClickHouse endpoint: the official ClickHouse JS client's own integration suite
 * (`clickhouse-js` at the tag of the client version tollgate depends on, from `../shared/third_party/`), run
 * unchanged against the endpoint. Any failure not in `expected-failures.ts` (each named with its reason) fails
 * the run; it prints passed / failed / expected-failed / skipped, the time taken and the endpoint's peak memory.
 *
 * The suite's test utilities always connect to 127.0.0.1:8123. So that the run never touches a dev ClickHouse someone
 * else uses there, the endpoint and the suite run together inside a private network namespace (`unshare -n` as
 * root, `unshare -rn` otherwise), on an endpoint of their own with fresh data.
 *
 *   node --import tsx scripts/clickhouse-conformance/run.ts
 *
 * Environment: TOLLGATE_CACHE_DIR (where the suite and its node_modules are unpacked once; default
 * ~/.cache/tollgate), CLICKHOUSE_CONFORMANCE_TIMEOUT_S (time box of the suite run, default 600).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhouseEndpointCommand } from '../stack/clickhouse.ts';
import { expectedFailures } from './expected-failures.ts';

const SUITE = 'clickhouse-js-1.23.1';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TARBALL = resolve(REPO_ROOT, '..', 'shared', 'third_party', `${SUITE}.tar.gz`);
const THIS_FILE = fileURLToPath(import.meta.url);

let prefix = 'clickhouse-conformance';

function say(line: string): void {
  process.stdout.write(`${prefix}: ${line}\n`);
}

function cacheDir(): string {
  const env = process.env;
  return resolve(env['TOLLGATE_CACHE_DIR'] || join(env['XDG_CACHE_HOME'] || join(env['HOME'] || homedir(), '.cache'), 'tollgate'));
}

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Unpacks the suite and installs its dev dependencies once per tarball (a marker holds the tarball's hash). */
function prepareSuite(cache: string): string {
  const dir = join(cache, SUITE);
  const marker = join(dir, '.tollgate-ready');
  const hash = createHash('sha256').update(readFileSync(TARBALL)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === hash) return dir;
  rmSync(dir, { recursive: true, force: true });
  say(`unpacking ${relative(REPO_ROOT, TARBALL)} into ${dir}`);
  run('tar', ['xzf', TARBALL, '-C', cache], REPO_ROOT);
  say('installing the suite dev dependencies (npm ci --ignore-scripts; first run only, about a minute)');
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  // the one install script the suite needs, as its own package.json postinstall does it
  run('npm', ['pkg', 'delete', 'type'], join(dir, 'node_modules', 'parquet-wasm'));
  writeFileSync(marker, `${hash}\n`);
  return dir;
}

interface VitestAssertion {
  fullName: string;
  status: string;
  failureMessages?: string[];
}
interface VitestFile {
  name: string;
  status: string;
  message?: string;
  assertionResults: VitestAssertion[];
}
interface InsideReport {
  seconds: number;
  timedOut: boolean;
  peakRssKb: number;
  vitestExit: number | null;
}

async function outside(): Promise<number> {
  const started = Date.now();
  if (!existsSync(TARBALL)) {
    say(`skipped: the suite's source ${TARBALL} is missing (it comes with ../shared/third_party/)`);
    return process.env['CI'] ? 1 : 0;
  }
  const cache = cacheDir();
  const suite = prepareSuite(cache);
  const ctx = { runDir: join(REPO_ROOT, '.run', 'stack'), cacheDir: cache, progress: (l: string) => say(l) };
  const endpoint = await clickhouseEndpointCommand(ctx);
  const work = mkdtempSync(join(tmpdir(), 'tollgate-conformance-'));
  const unshare = process.getuid?.() === 0 ? ['-n'] : ['-rn'];
  say(`running the suite (${SUITE}, vitest, 2 workers) against a private endpoint in a private network namespace`);
  const code = await new Promise<number | null>((done) => {
    const child = spawn('unshare', [...unshare, process.execPath, '--import', 'tsx', THIS_FILE, '--inside'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, CONFORMANCE_PYTHON: endpoint.python, CONFORMANCE_SERVER: endpoint.script, CONFORMANCE_SUITE: suite, CONFORMANCE_WORK: work },
    });
    child.once('error', (err) => {
      say(`cannot start unshare: ${err.message}`);
      done(null);
    });
    child.once('exit', (c) => done(c));
  });
  const reportFile = join(work, 'report.json');
  const resultFile = join(work, 'vitest.json');
  if (code !== 0 || !existsSync(reportFile) || !existsSync(resultFile)) {
    say(`the run did not complete (exit ${code}); logs in ${work}`);
    return 1;
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as InsideReport;
  const files = (JSON.parse(readFileSync(resultFile, 'utf8')) as { testResults: VitestFile[] }).testResults;
  return judge(files, report, suite, Math.round((Date.now() - started) / 1000), work);
}

function judge(files: VitestFile[], report: InsideReport, suite: string, totalSeconds: number, work: string): number {
  const expected = new Map(expectedFailures.map((e) => [e.test, e.reason]));
  const seen = new Set<string>();
  let passed = 0;
  let skipped = 0;
  const expectedFailed: string[] = [];
  const unexpected: string[] = [];
  for (const file of files) {
    const rel = relative(suite, file.name);
    let failedInFile = 0;
    for (const t of file.assertionResults) {
      if (t.status === 'passed') passed += 1;
      else if (t.status === 'failed') {
        failedInFile += 1;
        seen.add(t.fullName);
        if (expected.has(t.fullName)) expectedFailed.push(t.fullName);
        else unexpected.push(`${t.fullName} (${rel}): ${(t.failureMessages?.[0] ?? '').split('\n')[0]?.slice(0, 240)}`);
      } else skipped += 1;
    }
    if (file.status === 'failed' && failedInFile === 0) {
      // the file failed outside its tests: it did not load, or a setup hook failed
      const key = `file:${rel}`;
      seen.add(key);
      if (expected.has(key)) expectedFailed.push(key);
      else unexpected.push(`${key}: ${(file.message ?? '').split('\n')[0]?.slice(0, 240)}`);
    }
  }
  for (const name of expectedFailed) say(`expected failure: ${name} -- ${expected.get(name)}`);
  for (const line of unexpected) say(`UNEXPECTED failure: ${line}`);
  const flaky = new Set(expectedFailures.filter((e) => e.flaky).map((e) => e.test));
  for (const name of expected.keys()) {
    if (!seen.has(name) && !flaky.has(name)) say(`listed as expected but did not fail (remove it from expected-failures.ts?): ${name}`);
  }
  say(`suite ${report.seconds} s${report.timedOut ? ' (TIMED OUT)' : ''}, whole run ${totalSeconds} s; endpoint peak RSS ${Math.round(report.peakRssKb / 1024)} MiB`);
  say(`passed ${passed}, failed ${unexpected.length}, expected-failed ${expectedFailed.length}, skipped ${skipped}`);
  const ok = unexpected.length === 0 && !report.timedOut;
  if (ok) rmSync(work, { recursive: true, force: true });
  else say(`logs kept in ${work}`);
  return ok ? 0 : 1;
}

async function inside(): Promise<number> {
  const env = process.env;
  const [python, server, suite, work] = ['CONFORMANCE_PYTHON', 'CONFORMANCE_SERVER', 'CONFORMANCE_SUITE', 'CONFORMANCE_WORK'].map((k) => {
    const v = env[k];
    if (!v) throw new Error(`${k} is not set (this mode is started by the script itself)`);
    return v;
  }) as [string, string, string, string];
  loopbackUp(python);
  const timeoutS = Number(env['CLICKHOUSE_CONFORMANCE_TIMEOUT_S'] || 600);
  const log = createWriteStream(join(work, 'endpoint.log'));
  await new Promise((r) => log.once('open', r));
  const endpoint = spawn(python, [server, '--host', '127.0.0.1', '--port', '8123', '--data', join(work, 'data')], {
    stdio: ['ignore', log, log],
  });
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${endpoint.pid}/status`, 'utf8'))?.[1] ?? 0);
      peakRssKb = Math.max(peakRssKb, kb);
    } catch {
      // the endpoint has exited; its exit is reported below
    }
  }, 200);
  try {
    const deadline = Date.now() + 60_000;
    while (!(await pingOk())) {
      if (Date.now() > deadline || endpoint.exitCode !== null) throw new Error(`the endpoint did not answer /ping; see ${work}/endpoint.log`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const t0 = Date.now();
    const vitestLog = createWriteStream(join(work, 'vitest.log'));
    await new Promise((r) => vitestLog.once('open', r));
    const vitest = spawn(
      join(suite, 'node_modules', '.bin', 'vitest'),
      ['run', '--maxWorkers=2', '--retry=0', '--reporter=json', `--outputFile=${join(work, 'vitest.json')}`],
      { cwd: join(suite, 'packages', 'client-node'), env: { ...env, TEST_MODE: 'integration', CI: '' }, stdio: ['ignore', vitestLog, vitestLog] },
    );
    let timedOut = false;
    const heartbeat = setInterval(() => say(`suite running, ${Math.round((Date.now() - t0) / 1000)} s`), 30_000);
    const killer = setTimeout(() => {
      timedOut = true;
      say(`time box of ${timeoutS} s reached: stopping the suite`);
      vitest.kill('SIGKILL');
    }, timeoutS * 1000);
    const vitestExit = await new Promise<number | null>((r) => vitest.once('exit', (c) => r(c)));
    clearTimeout(killer);
    clearInterval(heartbeat);
    const report: InsideReport = { seconds: Math.round((Date.now() - t0) / 1000), timedOut, peakRssKb, vitestExit };
    writeFileSync(join(work, 'report.json'), JSON.stringify(report));
    return 0;
  } finally {
    clearInterval(sampler);
    endpoint.kill('SIGTERM');
    await new Promise((r) => (endpoint.exitCode !== null ? r(undefined) : endpoint.once('exit', r)));
  }
}

/** A new network namespace starts with its loopback down. `ip` (iproute2) where present, else the same ioctl. */
function loopbackUp(python: string): void {
  try {
    execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: 'ignore' });
  } catch {
    const raise = [
      'import fcntl, socket, struct',
      's = socket.socket()',
      "flags = struct.unpack('16sH', fcntl.ioctl(s, 0x8913, struct.pack('16sH14s', b'lo', 0, b''))[:18])[1]",
      "fcntl.ioctl(s, 0x8914, struct.pack('16sH14s', b'lo', flags | 1, b''))",
    ].join('\n');
    execFileSync(python, ['-c', raise]);
  }
}

async function pingOk(): Promise<boolean> {
  try {
    const res = await fetch('http://127.0.0.1:8123/ping', { signal: AbortSignal.timeout(1_000) });
    return (await res.text()) === 'Ok.\n';
  } catch {
    return false;
  }
}

/** `--prepare` (run by `npm run setup`): unpack and install the suite and the endpoint's venv, nothing else. */
async function prepare(): Promise<number> {
  prefix = 'setup: clickhouse-js suite';
  if (!existsSync(TARBALL)) {
    say(`${TARBALL} is missing; the conformance test will say so`);
    return 0;
  }
  const cache = cacheDir();
  const dir = prepareSuite(cache);
  await clickhouseEndpointCommand({ runDir: join(REPO_ROOT, '.run', 'stack'), cacheDir: cache, progress: (l) => say(l) });
  say(`ready in ${dir}`);
  return 0;
}

const mode = process.argv.includes('--inside') ? inside : process.argv.includes('--prepare') ? prepare : outside;
process.exitCode = await mode();
