/** Health and metrics: unauthenticated by design so probes and Prometheus need no key; they expose no data. */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { HealthReport } from '../../shared/lifecycle.ts';

export interface OpsRoutesOptions {
  readonly registry: Registry;
  readonly health: () => HealthReport;
}

const componentHealth = {
  type: 'object',
  required: ['state'],
  properties: { state: { type: 'string', enum: ['ok', 'degraded', 'down'] }, detail: { type: 'string' } },
} as const;

export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app, opts) => {
  app.get('/healthz', {
    schema: {
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, components: { type: 'object', additionalProperties: componentHealth } } },
        503: { type: 'object', properties: { status: { type: 'string' }, components: { type: 'object', additionalProperties: componentHealth } } },
      },
    },
  }, async (_req, reply) => {
    const report = opts.health();
    return reply.code(report.status === 'down' ? 503 : 200).send(report);
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await opts.registry.metrics();
    return reply.header('content-type', opts.registry.contentType).send(body);
  });
};
