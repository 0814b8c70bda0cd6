/**
 * `/healthz` and `/metrics` for a process that does not run the API (a collector or analyzer scaled out on its own).
 * Plain node:http: it must stay up and cheap even when everything else is degraded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { healthReport, mapDetails, Once, type Component, type ComponentHealth } from './lifecycle.ts';
import { redactText } from './redact.ts';

export interface OpsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Components whose health is reported; read at request time so late-registered ones appear. */
  readonly components: () => readonly Component[];
}

export class OpsServer implements Component {
  readonly name = 'ops-http';
  #server: http.Server;
  #closing = new Once();
  #listening = false;

  constructor(private readonly opts: OpsServerOptions) {
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const report = mapDetails(healthReport(this.opts.components()), redactText);
      res.writeHead(report.status === 'down' ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(report));
      return;
    }
    if (path === '/metrics') {
      try {
        const body = await this.opts.registry.metrics();
        res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}`);
      }
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.opts.port, this.opts.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      if (!this.#listening) return;
      this.#server.closeIdleConnections();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#listening = false;
    });
  }

  async destroy(): Promise<void> {
    this.#server.closeAllConnections();
    await this.close();
  }

  health(): ComponentHealth {
    return { state: this.#listening ? 'ok' : 'down' };
  }
}
