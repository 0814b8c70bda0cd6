/**
 * Starts the sample edge proxy (deploy/kamailio/kamailio.cfg) unprivileged on loopback high ports, mirroring HEP to
 * a given port, and stops it by the pid it wrote. Also runs sipp and sngrep, the other real senders.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

export const KAMAILIO = '/usr/sbin/kamailio';
export const SIPP = '/usr/bin/sipp';
export const SNGREP = '/usr/bin/sngrep';
const CFG = fileURLToPath(new URL('../../deploy/kamailio/kamailio.cfg', import.meta.url));

export interface RunningKamailio {
  readonly sipPort: number;
  stop(): Promise<void>;
}

export async function startKamailio(hepPort: number): Promise<RunningKamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-kam-'));
  const sipPort = await freePort();
  const rpcPort = await freePort();
  const pidFile = join(dir, 'kamailio.pid');
  const child = spawn(KAMAILIO, ['-f', CFG, '-A', `SIP_PORT=${sipPort}`, '-A', `RPC_PORT=${rpcPort}`,
    '-A', `HEP_URI="sip:127.0.0.1:${hepPort}"`, '-P', pidFile, '-w', dir, '-E', '-DD'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 10_000;
  // Ready once the TCP SIP listener answers.
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kamailio exited ${child.exitCode}: ${stderr}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(sipPort, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kamailio did not listen on ${sipPort}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    sipPort,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ProcResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a bounded command; killed at `timeoutMs`. */
export function run(cmd: string, args: readonly string[], timeoutMs: number, cwd?: string): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A sipp scenario sending OPTIONS and expecting 200, for keep-alive style pings to the proxy itself. */
export const OPTIONS_SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <send retrans="500"><![CDATA[
OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:ping@[local_ip]:[local_port]>;tag=[call_number]
To: <sip:[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Contact: <sip:ping@[local_ip]:[local_port]>
Content-Length: 0

  ]]></send>
  <recv response="200"/>
</scenario>
`;

export function writeTemp(name: string, text: string): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tg-sipp-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

