/**
 * Domain → tenant mapping. Every stored row carries the SIP domain it was attributed to and the tenant that domain
 * maps to; unmapped domains get the default tenant, so a row is never without one.
 */
import { TollgateError } from '../shared/errors.ts';
import { AnalyzerErrors } from './errors.ts';

export interface TenantPick {
  readonly tenant: string;
  readonly domain: string;
}

export class TenantMap {
  readonly #exact = new Map<string, string>();
  /** Suffixes (".example.com") longest first, so the most specific wildcard wins. */
  readonly #wild: Array<[string, string]> = [];

  constructor(readonly defaultTenant: string, entries: ReadonlyArray<readonly [string, string]> = []) {
    for (const [domain, tenant] of entries) {
      const d = domain.toLowerCase();
      if (d.startsWith('*.')) this.#wild.push([d.slice(1), tenant]);
      else this.#exact.set(d, tenant);
    }
    this.#wild.sort((a, b) => b[0].length - a[0].length);
  }

  /** Parses `a.example=acme,*.b.example=beta`; the setting's pattern has already checked the shape. */
  static parse(raw: string, defaultTenant: string): TenantMap {
    const entries: Array<[string, string]> = [];
    for (const part of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
      const eq = part.indexOf('=');
      const domain = part.slice(0, eq).trim();
      const tenant = part.slice(eq + 1).trim();
      if (eq <= 0 || domain === '' || tenant === '' || domain === '*.') {
        throw new TollgateError(AnalyzerErrors.badTenantMap, `TENANT_DOMAINS entry "${part}" is not domain=tenant`, { entry: part });
      }
      entries.push([domain, tenant]);
    }
    return new TenantMap(defaultTenant, entries);
  }

  lookup(domain: string): string | undefined {
    if (domain === '') return undefined;
    const d = domain.toLowerCase();
    const hit = this.#exact.get(d);
    if (hit !== undefined) return hit;
    for (const [suffix, tenant] of this.#wild) if (d.endsWith(suffix)) return tenant;
    return undefined;
  }

  /** The first candidate domain that maps to a tenant; otherwise the first non-empty one with the default tenant. */
  pick(candidates: ReadonlyArray<string | null | undefined>): TenantPick {
    let first = '';
    for (const c of candidates) {
      if (c === null || c === undefined || c === '') continue;
      const domain = c.toLowerCase();
      if (first === '') first = domain;
      const tenant = this.lookup(domain);
      if (tenant !== undefined) return { tenant, domain };
    }
    return { tenant: this.defaultTenant, domain: first };
  }
}
