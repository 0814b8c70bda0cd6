/** The HTTP API as a supervised component; resources are fastify plugins registered here. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Once, type Component, type ComponentHealth, type HealthReport } from '../shared/lifecycle.ts';
import { opsRoutes } from './routes/ops.ts';

export interface ApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly registry: Registry;
  readonly health: () => HealthReport;
}

export class ApiServer implements Component {
  readonly name = 'api-http';
  readonly app: FastifyInstance;
  #listening = false;
  #closing = new Once();

  constructor(private readonly opts: ApiServerOptions) {
    this.app = Fastify({ loggerInstance: opts.log.child({ component: 'api' }) as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: 1_048_576 });
    void this.app.register(opsRoutes, { registry: opts.registry, health: opts.health });
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.opts.host, port: this.opts.port });
    this.#listening = true;
  }

  get port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return this.#closing.run(async () => {
      await this.app.close();
      this.#listening = false;
    });
  }

  async destroy(): Promise<void> {
    this.app.server.closeAllConnections();
    await this.close();
  }

  health(): ComponentHealth {
    return { state: this.#listening ? 'ok' : 'down' };
  }
}
