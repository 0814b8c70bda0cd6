/** Query-string pieces and checks the built-in data routes share. */
import { ApiProblem } from '../contract.ts';
import { listQueryProperties, pageSchema } from '../paging.ts';
import type { SqlStore } from '../../shared/clickhouse/client.ts';

/** What every data route needs besides its own dependencies. */
export interface DataRouteOptions {
  readonly store: SqlStore;
  readonly maskNumbers: boolean;
  readonly maxRangeMs: number;
  readonly publicUrl: URL | undefined;
}

export const tenantParam = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$', description: 'Only this tenant (a tenant-bound key may only name its own).' } as const;
export const ipParam = { type: 'string', pattern: '^[0-9A-Fa-f:.]{2,45}$', description: 'IPv4 or IPv6 address, exact.' } as const;
export const userParam = { type: 'string', minLength: 1, maxLength: 128 } as const;
export const nodeParam = { type: 'string', minLength: 1, maxLength: 64, description: 'Capture node name (HEP node name).' } as const;

/** Searching by number would reveal masked numbers one guess at a time: it needs pii.read when masking is on. */
export function refuseNumberFilters(mask: boolean, q: Record<string, unknown>, params: readonly string[]): void {
  if (!mask) return;
  for (const p of params) {
    if (q[p] !== undefined) {
      throw new ApiProblem(403, 'insufficient-scope', 'The API key lacks a scope',
        `numbers are masked for this key (API_MASK_NUMBERS): filtering by ${p} needs the pii.read scope`, p, { scope: 'pii.read' });
    }
  }
}

export { callIdParam, endpointSchema } from '../schemas.ts';

/** The schema of a list route: its own filters beside the paging ones (unknown parameters refused), a page of items. */
export function listRouteSchema(o: { tag: string; summary: string; description: string; filters: Record<string, object>; item: object }) {
  return {
    tags: [o.tag],
    summary: o.summary,
    description: o.description,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { ...listQueryProperties, tenant: tenantParam, ...o.filters },
    },
    response: { 200: pageSchema(o.item) },
  };
}
