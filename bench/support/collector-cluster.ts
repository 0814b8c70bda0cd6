/**
 * Several production collector processes on one HEP port, the way the supervisor runs them under `npm start`: a
 * cluster primary forks `services/collector/main.ts` N times (scheduling left to the OS), each worker with its own
 * metrics port and spool directory, all sharing the primary's UDP socket and TCP listener. Prints
 * `collector cluster is running pids=<a,b,..> metrics=<p,q,..>` once every worker is up; SIGTERM stops them all.
 * Env: COLLECTOR_PROCESSES (N), COLLECTOR_METRICS_PORTS and COLLECTOR_SPOOL_DIRS (comma-separated, one per worker),
 * plus the collector's own settings.
 */
import cluster, { type Worker } from 'node:cluster';

const n = Number(process.env['COLLECTOR_PROCESSES'] ?? '2');
const ports = (process.env['COLLECTOR_METRICS_PORTS'] ?? '').split(',');
const spools = (process.env['COLLECTOR_SPOOL_DIRS'] ?? '').split(',');
if (!(n >= 1) || ports.length < n || spools.length < n) {
  process.stderr.write('collector-cluster: COLLECTOR_PROCESSES, and as many COLLECTOR_METRICS_PORTS and COLLECTOR_SPOOL_DIRS\n');
  process.exit(2);
}
cluster.schedulingPolicy = cluster.SCHED_NONE;
cluster.setupPrimary({ exec: 'services/collector/main.ts', execArgv: [...process.execArgv.filter((a) => a.startsWith('--cpu-prof') || a.startsWith('--max-semi-space-size')), '--import', 'tsx'], silent: true });
const workers: Worker[] = [];
let ready = 0;
for (let i = 0; i < n; i++) {
  const w = cluster.fork({ METRICS_PORT: ports[i], PUBLISH_SPOOL_DIR: spools[i] });
  workers.push(w);
  let out = '';
  w.process.stdout!.on('data', (d: Buffer) => {
    if (out.includes('collector is running')) return;
    out += d.toString();
    if (out.includes('collector is running') && ++ready === n) {
      process.stdout.write(`collector cluster is running pids=${workers.map((x) => x.process.pid).join(',')} metrics=${ports.slice(0, n).join(',')}\n`);
    }
  });
  w.process.stderr!.pipe(process.stderr);
  w.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`collector worker ${i} exited ${code}\n`);
      process.exit(1);
    }
  });
}
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  let left = workers.length;
  for (const w of workers) {
    w.once('exit', () => {
      if (--left === 0) process.exit(0);
    });
    w.process.kill('SIGTERM');
  }
});
