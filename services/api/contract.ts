/**
 * The contract every `/v1` resource plugin is written against, whoever builds it (calls, blocklist, alerts,
 * CDRs, accounts): a route names the scope it needs in its `config`, reads the caller from `request.principal`
 * (set by the API's auth hook before any handler runs) and throws `ApiProblem` for anything a client did wrong.
 * The API server renders every `ApiProblem` as RFC 9457 `application/problem+json`.
 */
export const SCOPES = ['calls.read', 'fraud.read', 'fraud.write', 'billing.read', 'billing.write', 'pii.read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  /** Key name from `API_KEYS` (never the key itself). */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Set when the key is bound to one tenant: every query must be restricted to it in SQL. */
  readonly tenant?: string | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route requires; `admin` satisfies every scope. Routes without one are not under `/v1`. */
    scope?: Scope;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** A client error with a stable `type`, rendered as problem+json (RFC 9457). */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    /** Stable short name, e.g. `invalid-parameter`; published as `https://tollgate.dev/problems/<type>`. */
    readonly type: string,
    readonly title: string,
    readonly detail?: string,
    /** The request parameter (query, path or body field) that failed, when one did. */
    readonly param?: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail ?? title);
    this.name = 'ApiProblem';
  }
}
