/**
 * The HTTP API as a supervised component. The fastify app carries the framework every `/v1` plugin relies on
 * (auth hook, per-key rate limit, problem+json, OpenAPI at /openapi.json and its UI at /docs); resources are
 * fastify plugins handed in as `routes`.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type RouteOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Once, type Component, type ComponentHealth, type HealthReport } from '../shared/lifecycle.ts';
import { installAuth, isV1 } from './auth.ts';
import { ApiProblem } from './contract.ts';
import { KeyRing } from './keys.ts';
import { installProblemHandlers, PROBLEM_TYPE, problemSchema } from './problems.ts';
import { opsRoutes } from './routes/ops.ts';
import { sessionRoutes } from './routes/session.ts';

/** A resource plugin and the options it is registered with (its dependencies). */
export interface ApiRoutes {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly plugin: FastifyPluginAsync<any>;
  readonly options?: object;
}

export interface ApiServerOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly registry: Registry;
  readonly health: () => HealthReport;
  /** No keys (the default): every `/v1` request is refused with a 503 that says how to configure one. */
  readonly keys?: KeyRing;
  /** Requests per minute per key on `/v1`. */
  readonly rateLimitPerMinute?: number;
  readonly routes?: readonly ApiRoutes[];
  readonly version?: string;
}

const problemResponse = (description: string) => ({ description, content: { [PROBLEM_TYPE]: { schema: { $ref: 'Problem#' } } } });

/** Every `/v1` route gets its security requirement and the problems the framework itself may answer. */
function describeV1Route(route: RouteOptions): void {
  const scope = route.config?.scope;
  if (!isV1(route.url) || route.method === 'HEAD') return;
  const schema = (route.schema ??= {}) as Record<string, unknown>;
  schema['security'] ??= [{ bearer: [] }, { apiKey: [] }];
  if (scope !== undefined) {
    const note = `Requires the \`${scope}\` scope (or \`admin\`).`;
    schema['description'] = schema['description'] ? `${String(schema['description'])}\n\n${note}` : note;
  }
  const response = (schema['response'] ??= {}) as Record<string, unknown>;
  response['401'] ??= problemResponse('No valid API key');
  if (scope !== undefined) response['403'] ??= problemResponse('The key lacks the scope, or the tenant is not the key\'s');
  if (schema['querystring'] || schema['params'] || schema['body']) response['422'] ??= problemResponse('A parameter is invalid (named in `param`)');
  response['429'] ??= problemResponse('Rate limit of the key exceeded; see Retry-After');
  response['503'] ??= problemResponse('A dependency (named in `dependency`) is unavailable, or no API key is configured');
}

export function buildApiApp(opts: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request lines would log every URL (and with it every searched number); failures are logged once, with context.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
    // Call-IDs are often longer than find-my-way's default of 100 characters.
    routerOptions: { maxParamLength: 1024 },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  installProblemHandlers(app);
  installAuth(app, opts.keys ?? new KeyRing([]));
  app.addSchema(problemSchema);
  app.addHook('onRoute', describeV1Route);
  // Ajv coerces "1e309" to Infinity and lets it through integer bounds; nothing downstream wants a non-finite number.
  app.addHook('preHandler', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q === undefined || q === null || typeof q !== 'object') return;
    for (const [k, v] of Object.entries(q)) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid', `query parameter ${k} must be a finite number`, k);
      }
    }
  });

  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'tollgate API',
        version: opts.version ?? '1',
        description: 'Calls, SIP ladders, PCAP, registrations, QoS, statistics, CDRs, accounts, blocklist and alerts of a '
          + 'FreeSWITCH / Kamailio / OpenSIPS platform. Send the key as `Authorization: Bearer <key>` or `X-API-Key`. '
          + 'Errors are RFC 9457 problem details. Lists use keyset pagination (`limit`, `cursor`, `next`) over a '
          + '`from`..`to` range (RFC 3339) and export as CSV with `format=csv` or `Accept: text/csv`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key from API_KEYS' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json['$id'] ?? `def-${i}`) },
  });
  void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  void app.register(rateLimit, {
    global: true,
    max: opts.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    // /v1 per key; the sign-in form per address (it is where a key would be guessed).
    allowList: (req) => !isV1(req.url) && !(req.method === 'POST' && req.url.startsWith('/login')),
    keyGenerator: (req) => (req.principal !== undefined ? `key:${req.principal.name}` : `ip:${req.ip}`),
    errorResponseBuilder: (req, ctx) => new ApiProblem(429, 'rate-limited', 'Too many requests',
      `key ${req.principal?.name ?? '(none)'} may make ${ctx.max} requests per ${ctx.after}; retry after ${Math.ceil(ctx.ttl / 1000)} s`,
      undefined, { retryAfterSeconds: Math.ceil(ctx.ttl / 1000) }),
  });
  void app.register(async (root) => {
    root.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await root.register(opsRoutes, { registry: opts.registry, health: opts.health });
    await root.register(sessionRoutes, { keys: opts.keys ?? new KeyRing([]) });
    for (const r of opts.routes ?? []) await root.register(r.plugin, r.options ?? {});
  });
  return app;
}

export class ApiServer implements Component {
  readonly name = 'api-http';
  readonly app: FastifyInstance;
  #listening = false;
  #closing = new Once();

  constructor(private readonly opts: ApiServerOptions) {
    this.app = buildApiApp(opts);
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
