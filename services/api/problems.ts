/**
 * RFC 9457 problem details: every error the API returns, whoever raised it (a route's `ApiProblem`, schema
 * validation, the rate limiter, fastify itself, a dependency), leaves as `application/problem+json` with a stable
 * `type`. Unexpected errors are logged once here with the request id, never with headers (they carry keys).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLICKHOUSE_OVERLOADED, CLICKHOUSE_UNAVAILABLE } from '../shared/clickhouse/errors.ts';
import { isTollgateError } from '../shared/errors.ts';
import { ApiProblem } from './contract.ts';

export const PROBLEM_BASE = 'https://tollgate.dev/problems/';
export const PROBLEM_TYPE = 'application/problem+json';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  param?: string;
  [k: string]: unknown;
}

/** JSON schema of a problem body, published once in OpenAPI components and referenced by every route. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri', description: `Stable problem type, ${PROBLEM_BASE}<name>` },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'The request path' },
    param: { type: 'string', description: 'The request parameter that failed' },
    dependency: { type: 'string', description: 'The dependency that failed (503)' },
    scope: { type: 'string', description: 'The scope the route requires (403)' },
  },
  additionalProperties: true,
} as const;

export function problemBody(p: ApiProblem, instance?: string): ProblemBody {
  return {
    type: `${PROBLEM_BASE}${p.type}`,
    title: p.title,
    status: p.status,
    ...(p.detail !== undefined ? { detail: p.detail } : {}),
    ...(instance !== undefined ? { instance } : {}),
    ...(p.param !== undefined ? { param: p.param } : {}),
    ...p.extra,
  };
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, p: ApiProblem): FastifyReply {
  const path = req.url.split('?', 1)[0];
  // A string body skips the route's serializer: the problem is written exactly as built.
  return reply.code(p.status).type(PROBLEM_TYPE).send(JSON.stringify(problemBody(p, path)));
}

interface ValidationItem {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', body: 'body field', headers: 'header' };

/** First schema violation → a 422 naming the parameter and what was expected. */
export function validationProblem(items: readonly ValidationItem[], context: string | undefined): ApiProblem {
  const v = items[0] ?? {};
  const fromPath = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = v.params?.['missingProperty'] as string | undefined;
  const extra = v.params?.['additionalProperty'] as string | undefined;
  const name = missing ?? extra ?? (fromPath !== '' ? fromPath : context ?? 'request');
  const where = CONTEXT_NAMES[context ?? ''] ?? 'parameter';
  let detail: string;
  if (missing !== undefined) detail = `${where} ${missing} is required`;
  else if (extra !== undefined) detail = `${where} ${extra} is not known here`;
  else {
    const allowed = v.params?.['allowedValues'] as unknown[] | undefined;
    detail = `${where} ${name} ${v.message ?? 'is invalid'}${allowed ? `: ${allowed.map(String).join(', ')}` : ''}`;
  }
  return new ApiProblem(422, 'invalid-parameter', 'A request parameter is invalid', detail, name);
}

/** Errors that are not `ApiProblem` mapped to problems; `undefined` for the unexpected (a 500, logged). */
export function toProblem(err: unknown): ApiProblem | undefined {
  if (err instanceof ApiProblem) return err;
  if (isTollgateError(err, CLICKHOUSE_UNAVAILABLE) || isTollgateError(err, CLICKHOUSE_OVERLOADED)) {
    return new ApiProblem(503, 'dependency-unavailable', 'A dependency is unavailable',
      'ClickHouse did not answer or refused for load; retry shortly', undefined, { dependency: 'clickhouse' });
  }
  const fe = err as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
  if (Array.isArray(fe?.validation)) return validationProblem(fe.validation, fe.validationContext);
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiProblem(413, 'body-too-large', 'The request body is too large', fe.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiProblem(415, 'unsupported-media-type', 'Unsupported Content-Type', 'send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiProblem(400, 'malformed-body', 'The request body is not valid JSON', fe.message, 'body');
    default:
      break;
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiProblem(fe.statusCode, 'bad-request', 'The request was refused', fe.message);
  }
  return undefined;
}

export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const p = toProblem(err);
    if (p !== undefined) {
      if (p.status === 503 && p.extra['dependency'] !== undefined) {
        req.log.warn({ err, reqId: req.id, route: req.routeOptions.url }, 'dependency unavailable');
        reply.header('retry-after', '5');
      }
      return sendProblem(req, reply, p);
    }
    req.log.error({ err, reqId: req.id, method: req.method, route: req.routeOptions.url }, 'request failed');
    return sendProblem(req, reply, new ApiProblem(500, 'internal-error', 'Internal server error',
      `the error was logged with request id ${req.id}`, undefined, { requestId: req.id }));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(req, reply, new ApiProblem(404, 'not-found', 'No such resource',
    `${req.method} ${req.url.split('?', 1)[0]} is not a route of this API; see /openapi.json`)));
}
