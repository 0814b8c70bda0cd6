/**
 * API keys: `name:key:scopes[@tenant]` entries from API_KEYS and API_KEYS_FILE, parsed once at start-up. Keys are
 * kept only as SHA-256 digests and compared in constant time, so neither a timing side channel nor a heap dump
 * of the running API gives a key away, and a key file may hold `sha256:<hex>` instead of the key itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { defineError, TollgateError } from '../shared/errors.ts';
import { SCOPES, type Principal, type Scope } from './contract.ts';

export const API_KEYS_INVALID = defineError('TG_API_KEYS_INVALID', 'An API_KEYS / API_KEYS_FILE entry is malformed.');

export interface KeyEntry {
  readonly principal: Principal;
  readonly digest: Buffer;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const TENANT = /^[A-Za-z0-9_.-]{1,128}$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * One entry. `where` names the source (e.g. `API_KEYS entry 2`, `keys.txt line 7`) so the operator can find it;
 * the key itself is never part of an error message.
 */
export function parseKeyEntry(entry: string, where: string): KeyEntry {
  const fail = (why: string): never => {
    throw new TollgateError(API_KEYS_INVALID, `${where}: ${why}; expected name:key:scopes[@tenant], e.g. noc:<key>:calls.read+pii.read@acme`);
  };
  const first = entry.indexOf(':');
  const last = entry.lastIndexOf(':');
  if (first <= 0 || last === first) fail('not three colon-separated fields');
  const name = entry.slice(0, first).trim();
  const key = entry.slice(first + 1, last).trim();
  let scopesPart = entry.slice(last + 1).trim();
  if (!NAME.test(name)) fail(`key name ${JSON.stringify(name.slice(0, 70))} is not 1-64 letters, digits, "_", "." or "-"`);
  let tenant: string | undefined;
  const at = scopesPart.indexOf('@');
  if (at >= 0) {
    tenant = scopesPart.slice(at + 1);
    scopesPart = scopesPart.slice(0, at);
    if (!TENANT.test(tenant)) fail(`key ${name}: tenant ${JSON.stringify(tenant.slice(0, 130))} is not 1-128 letters, digits, "_", "." or "-"`);
  }
  const scopes = new Set<Scope>();
  for (const raw of scopesPart.split('+')) {
    const sc = raw.trim();
    if (!(SCOPES as readonly string[]).includes(sc)) fail(`key ${name}: unknown scope ${JSON.stringify(sc.slice(0, 40))} (known: ${SCOPES.join(', ')})`);
    scopes.add(sc as Scope);
  }
  let digest: Buffer;
  const hashed = /^sha256:([0-9a-fA-F]{64})$/.exec(key);
  if (hashed) digest = Buffer.from(hashed[1]!, 'hex');
  else if (key.startsWith('sha256:')) return fail(`key ${name}: a sha256: key must be 64 hex digits`);
  else if (key.length < 16) return fail(`key ${name}: the key must be at least 16 characters (use e.g. openssl rand -hex 24)`);
  else digest = sha256(key);
  return { principal: Object.freeze({ name, scopes, ...(tenant !== undefined ? { tenant } : {}) }), digest };
}

/** `API_KEYS` value (comma-separated) plus the lines of an `API_KEYS_FILE` (comments and blanks skipped). */
export function parseKeys(apiKeys: string | undefined, file?: { name: string; text: string }): KeyEntry[] {
  const out: KeyEntry[] = [];
  (apiKeys ?? '').split(',').map((x) => x.trim()).forEach((e, i) => {
    if (e !== '') out.push(parseKeyEntry(e, `API_KEYS entry ${i + 1}`));
  });
  file?.text.split(/\r?\n/).forEach((line, i) => {
    const e = line.trim();
    if (e !== '' && !e.startsWith('#')) out.push(parseKeyEntry(e, `${file.name} line ${i + 1}`));
  });
  const names = new Set<string>();
  for (const k of out) {
    if (names.has(k.principal.name)) throw new TollgateError(API_KEYS_INVALID, `API key name ${k.principal.name} is configured twice`);
    names.add(k.principal.name);
  }
  return out;
}

export class KeyRing {
  readonly #entries: readonly KeyEntry[];
  constructor(entries: readonly KeyEntry[]) {
    this.#entries = entries;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Compares against every entry, always, so the time taken does not tell which (or whether one) matched. */
  lookup(presented: string): Principal | undefined {
    const d = sha256(presented);
    let found: Principal | undefined;
    for (const e of this.#entries) {
      if (timingSafeEqual(d, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(scope);
}
