/**
 * The guard's real edges in tests: Kamailio 5.6 with deploy/kamailio/kamailio.cfg and OpenSIPS 3.6.8 (built by
 * scripts/setup.d/opensips.sh) with deploy/opensips/opensips.cfg, on loopback, restartable on the same ports; and
 * a one-shot SIP OPTIONS from a chosen 127.0.0.x source to see the proxy's answer (403 when banned).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KAMAILIO } from './kamailio.ts';
import { freePort } from './ports.ts';

const KAM_CFG = fileURLToPath(new URL('../../deploy/kamailio/kamailio.cfg', import.meta.url));
const OSIPS_CFG = fileURLToPath(new URL('../../deploy/opensips/opensips.cfg', import.meta.url));
const CACHE = process.env['TOLLGATE_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'tollgate');
export const OPENSIPS = join(CACHE, 'opensips', 'sbin', 'opensips');
export const haveKamailio = (): boolean => existsSync(KAMAILIO);
export const haveOpensips = (): boolean => existsSync(OPENSIPS);

export interface Edge {
  readonly sipAddr: string;
  readonly sipPort: number;
  readonly rpcUrl: string;
  start(): Promise<void>;
  /** Stops the process (start() again restarts it on the same ports). */
  stop(): Promise<void>;
  /** Stops it and removes its working directory. */
  dispose(): Promise<void>;
  readonly pid: number | undefined;
}

async function waitFor(check: () => Promise<boolean>, child: ChildProcess, what: string, stderr: () => string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${stderr()}`);
    if (await check()) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} not ready after ${ms} ms: ${stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect(port, host, () => { s.destroy(); r(true); });
    s.on('error', () => r(false));
  });
}

class Proc {
  child: ChildProcess | undefined;
  stderr = '';
  spawn(cmd: string, args: string[]): ChildProcess {
    this.stderr = '';
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-6000); });
    this.child = c;
    return c;
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

/** Kamailio on `sipAddr` (a 127.0.0.x of its own, so attackers on 127.0.0.1 are not the proxy itself). */
export async function kamailioEdge(opts: { sipAddr: string; hepPort: number }): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-guard-kam-'));
  const sipPort = await freePort();
  const rpcPort = await freePort();
  return runningEdge(dir, opts.sipAddr, sipPort, `http://${opts.sipAddr}:${rpcPort}/RPC`, rpcPort, 'kamailio', KAMAILIO,
    ['-f', KAM_CFG, '-A', `SIP_ADDR="${opts.sipAddr}"`, '-A', `SIP_PORT=${sipPort}`, '-A', `RPC_PORT=${rpcPort}`,
      '-A', `HEP_URI="sip:127.0.0.1:${opts.hepPort}"`, '-P', join(dir, 'kamailio.pid'), '-w', dir, '-E', '-DD']);
}

/** A proxy process that is ready once its control port (JSON-RPC / MI) accepts connections. */
async function runningEdge(dir: string, sipAddr: string, sipPort: number, rpcUrl: string, ctlPort: number, what: string, cmd: string, args: string[]): Promise<Edge> {
  const p = new Proc();
  const edge: Edge = {
    sipAddr, sipPort, rpcUrl,
    get pid() { return p.child?.pid; },
    async start() {
      const c = p.spawn(cmd, args);
      await waitFor(() => tcpOpen(sipAddr, ctlPort), c, what, () => p.stderr);
    },
    async stop() {
      await p.stop();
    },
    async dispose() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await edge.start();
  return edge;
}

/** OpenSIPS from the setup cache with the sample cfg, its socket/httpd/mpath rewritten for the test. */
export async function opensipsEdge(opts: { sipAddr: string }): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-guard-osips-'));
  const sipPort = await freePort();
  const miPort = await freePort();
  const cfg = readFileSync(OSIPS_CFG, 'utf8')
    .replace(/^socket=.*$/m, `socket=udp:${opts.sipAddr}:${sipPort}`)
    .replace(/^mpath=.*$/m, `mpath="${join(CACHE, 'opensips', 'lib64', 'opensips', 'modules')}/"`)
    .replace(/modparam\("httpd", "ip", "[^"]*"\)/, `modparam("httpd", "ip", "${opts.sipAddr}")`)
    .replace(/modparam\("httpd", "port", \d+\)/, `modparam("httpd", "port", ${miPort})`);
  const cfgPath = join(dir, 'opensips.cfg');
  writeFileSync(cfgPath, cfg);
  return runningEdge(dir, opts.sipAddr, sipPort, `http://${opts.sipAddr}:${miPort}/mi`, miPort, 'opensips', OPENSIPS,
    ['-f', cfgPath, '-P', join(dir, 'opensips.pid'), '-F', '-w', dir]);
}

/** One OPTIONS from `fromIp` to the proxy; resolves with the final status code (0 on no answer within `ms`). */
export function sipStatus(fromIp: string, toIp: string, toPort: number, ms = 2_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const t = setTimeout(() => { sock.close(); resolve(0); }, ms);
    sock.on('error', (e) => { clearTimeout(t); sock.close(); reject(e); });
    sock.on('message', (m) => {
      const status = /^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'));
      if (status !== null && Number(status[1]) >= 200) {
        clearTimeout(t);
        sock.close();
        resolve(Number(status[1]));
      }
    });
    sock.bind(0, fromIp, () => {
      const { port } = sock.address();
      const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
      const msg = [`OPTIONS sip:${toIp}:${toPort} SIP/2.0`, `Via: SIP/2.0/UDP ${fromIp}:${port};branch=${branch};rport`,
        `From: <sip:monitor@${fromIp}>;tag=${branch.slice(7)}`, `To: <sip:${toIp}:${toPort}>`, `Call-ID: ${branch}@${fromIp}`,
        'CSeq: 1 OPTIONS', 'Max-Forwards: 70', `Contact: <sip:monitor@${fromIp}:${port}>`, 'Content-Length: 0', '', ''].join('\r\n');
      sock.send(msg, toPort, toIp);
    });
  });
}
