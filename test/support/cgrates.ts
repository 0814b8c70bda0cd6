/**
 * The real CGRateS v0.10.4 engine for the rating tests: started on loopback ports of the rating range
 * (24000-24999, picked free at run time) with internal DBs, loaded with `test/fixtures/cgrates-tariff` through
 * `APIerSv1.LoadTariffPlanFromFolder`, polled until the top-ups have run, stopped with SIGTERM.
 *
 * Built by `npm run setup` (scripts/setup.d/cgrates.sh) into the cache; `CGR_ENGINE` names another binary.
 * `cgrEngineBinary()` returns undefined when neither exists, so a test can say why it is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CGRATES_VERSION = '0.10.4';
export const TARIFF_DIR = fileURLToPath(new URL('../fixtures/cgrates-tariff/', import.meta.url));

export function cgrEngineBinary(): string | undefined {
  const configured = process.env['CGR_ENGINE'];
  if (configured) return existsSync(configured) ? configured : undefined;
  const cache = process.env['TOLLGATE_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tollgate');
  const bin = join(cache, `cgrates-${CGRATES_VERSION}`, 'bin', 'cgr-engine');
  return existsSync(bin) ? bin : undefined;
}

export const CGRATES_SKIP_REASON = 'cgr-engine is not built: run `npm run setup` (scripts/setup.d/cgrates.sh) or set CGR_ENGINE';

/** A port of the rating range that nothing listens on right now (random start so parallel files rarely collide). */
export async function freeRatingPort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  const start = 24_000 + Math.floor(Math.random() * 1000);
  for (let i = 0; i < 1000; i++) {
    const port = 24_000 + ((start - 24_000 + i) % 1000);
    if (taken.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port in 24000-24999');
}

export interface FreeswitchAgentOptions {
  /** `host:port` of each event socket, with optional alias. */
  readonly conns: readonly { address: string; password?: string; alias?: string; reconnects?: number }[];
  readonly createCdr?: boolean;
  readonly emptyBalanceContext?: string;
}

export interface CgratesOptions {
  /** SessionS debit interval (`0s`: debit on Initiate/Terminate only). */
  readonly debitInterval?: string;
  readonly freeswitchAgent?: FreeswitchAgentOptions;
  readonly loadTariff?: boolean;
  readonly logLevel?: number;
  /** Reuse the ports of an engine stopped before (a restart on the same address). */
  readonly ports?: CgratesPorts;
}

export interface CgratesPorts {
  readonly rpcJson: number;
  readonly rpcGob: number;
  readonly http: number;
  readonly bijson: number;
}

export interface CgratesEngine {
  /** HTTP JSON-RPC (`/jsonrpc` on the http listener). */
  readonly url: string;
  /** Raw JSON-RPC listener (`tcp://127.0.0.1:<rpc_json>`). */
  readonly tcpUrl: string;
  readonly httpPort: number;
  readonly ports: CgratesPorts;
  readonly process: ChildProcess;
  /** Engine stdout/stderr so far (for assertions on the agent's behaviour and for failure messages). */
  log(): string;
  call<T = unknown>(method: string, params: unknown): Promise<T>;
  /** The `*monetary` balance of an account in currency units. */
  balance(account: string, tenant?: string): Promise<number>;
  /** CGRateS' own CDRs (`*default` run) for an origin id, or [] when none. */
  cdrs(filter: Record<string, unknown>): Promise<CgrCdr[]>;
  /** Resolves with the exit code once the process has ended (by itself or by `stop`). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface CgrCdr {
  CGRID: string;
  OriginID: string;
  OriginHost: string;
  Account: string;
  RequestType: string;
  Usage: number;
  Cost: number;
  CostSource?: string;
  RunID: string;
}

export async function startCgrates(opts: CgratesOptions = {}): Promise<CgratesEngine> {
  const bin = cgrEngineBinary();
  if (!bin) throw new Error(CGRATES_SKIP_REASON);
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    const p = await freeRatingPort(taken);
    taken.add(p);
    return p;
  };
  const [rpcJson, rpcGob, http, bijson] = opts.ports
    ? [opts.ports.rpcJson, opts.ports.rpcGob, opts.ports.http, opts.ports.bijson]
    : [await pick(), await pick(), await pick(), await pick()];
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-cgrates-'));
  const config: Record<string, unknown> = {
    general: { logger: '*stdout', log_level: opts.logLevel ?? 6, reply_timeout: '10s', default_timezone: 'UTC' },
    listen: {
      rpc_json: `127.0.0.1:${rpcJson}`, rpc_gob: `127.0.0.1:${rpcGob}`, http: `127.0.0.1:${http}`,
      // Left at their defaults these bind every interface (and fail); loopback ports that never start (no TLS files).
      rpc_json_tls: '127.0.0.1:0', rpc_gob_tls: '127.0.0.1:0', http_tls: '127.0.0.1:0',
    },
    data_db: { db_type: '*internal' },
    stor_db: { db_type: '*internal' },
    rals: { enabled: true },
    schedulers: { enabled: true },
    attributes: { enabled: true },
    chargers: { enabled: true, attributes_conns: ['*internal'] },
    cdrs: { enabled: true, chargers_conns: ['*internal'], rals_conns: ['*internal'] },
    sessions: {
      enabled: true, listen_bijson: `127.0.0.1:${bijson}`, rals_conns: ['*internal'], cdrs_conns: ['*internal'],
      chargers_conns: ['*internal'], debit_interval: opts.debitInterval ?? '0s',
    },
    apiers: { enabled: true, scheduler_conns: ['*internal'] },
  };
  if (opts.freeswitchAgent) {
    const fa = opts.freeswitchAgent;
    config['freeswitch_agent'] = {
      enabled: true,
      sessions_conns: ['*internal'],
      subscribe_park: true,
      create_cdr: fa.createCdr ?? true,
      empty_balance_context: fa.emptyBalanceContext ?? '',
      event_socket_conns: fa.conns.map((c) => ({ address: c.address, password: c.password ?? 'ClueCon', reconnects: c.reconnects ?? 5, alias: c.alias ?? '' })),
    };
  }
  await writeFile(join(dir, 'cgrates.json'), JSON.stringify(config, null, 2));

  let output = '';
  const child = spawn(bin, [`-config_path=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => { done = true; });

  const url = `http://127.0.0.1:${http}/jsonrpc`;
  let id = 0;
  const call = async <T>(method: string, params: unknown): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method, params: [params], id: ++id }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as { result: T; error: string | null };
    if (body.error) throw new Error(`${method}: ${body.error}`);
    return body.result;
  };

  const engine: CgratesEngine = {
    url,
    tcpUrl: `tcp://127.0.0.1:${rpcJson}`,
    httpPort: http,
    ports: { rpcJson, rpcGob, http, bijson },
    process: child,
    log: () => output,
    call,
    async balance(account, tenant = 'cgrates.org') {
      const acc = await call<{ BalanceMap: Record<string, { Value: number }[]> | null }>('APIerSv2.GetAccount', { Tenant: tenant, Account: account });
      return (acc.BalanceMap?.['*monetary'] ?? []).reduce((sum, b) => sum + b.Value, 0);
    },
    async cdrs(filter) {
      try {
        return await call<CgrCdr[]>('CDRsV1.GetCDRs', { RunIDs: ['*default'], ...filter });
      } catch (err) {
        if (/NOT_FOUND/.test((err as Error).message)) return [];
        throw err;
      }
    },
    exited,
    async stop() {
      if (!done) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(async () => {
      if (done) throw new Error(`cgr-engine exited at start:\n${output.slice(-2000)}`);
      try {
        await call('CoreSv1.Status', {});
        return true;
      } catch {
        return false;
      }
    }, 15_000, 'cgr-engine to answer CoreSv1.Status');
    if (opts.loadTariff !== false) await loadTariff(engine);
  } catch (err) {
    await engine.stop();
    throw new Error(`${(err as Error).message}\n--- engine log ---\n${output.slice(-3000)}`);
  }
  return engine;
}

/** Loads the fixture tariff and waits until the `*asap` top-ups have run (they run after the call returns). */
export async function loadTariff(engine: CgratesEngine): Promise<void> {
  const r = await engine.call<string>('APIerSv1.LoadTariffPlanFromFolder', { FolderPath: TARIFF_DIR });
  if (r !== 'OK') throw new Error(`LoadTariffPlanFromFolder answered ${JSON.stringify(r)}`);
  await waitFor(async () => {
    try {
      return (await engine.balance('1001')) === 0.06 && (await engine.balance('1009')) === 0.06 && (await engine.balance('1008')) === 10 && (await engine.balance('1002')) === 0;
    } catch {
      return false;
    }
  }, 10_000, 'the tariff plan top-ups');
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
