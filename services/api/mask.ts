/**
 * Number masking (API_MASK_NUMBERS): phone numbers and SIP user parts are replaced by their first characters and
 * stars, in fields and inside raw SIP text, for keys without the pii.read scope.
 */
import type { Principal } from './contract.ts';
import { hasScope } from './keys.ts';

export function shouldMask(enabled: boolean, p: Principal | undefined): boolean {
  return enabled && (p === undefined || !hasScope(p, 'pii.read'));
}

/** Keeps a short prefix (country / area code for numbers) so a NOC can still tell destinations apart. */
export function maskUser(u: string): string {
  if (u === '') return u;
  const keep = u.length <= 4 ? 0 : 3;
  return u.slice(0, keep) + '*'.repeat(u.length - keep);
}

/** User parts of sip:/sips:/tel: URIs, display names and digest usernames inside SIP text. */
export function maskSipText(text: string): string {
  return text
    .replace(/\b(sips?:)([^@;>\s:"]+)(@)/gi, (_m, s: string, u: string, at: string) => `${s}${maskUser(u)}${at}`)
    .replace(/\b(tel:)([^;>\s,]+)/gi, (_m, s: string, u: string) => `${s}${maskUser(u)}`)
    .replace(/^((?:From|To|f|t|P-Asserted-Identity|P-Preferred-Identity|Remote-Party-ID|Contact|m|Referred-By|Refer-To|Diversion)\s*:\s*)"([^"]*)"/gim,
      (_m, h: string, d: string) => `${h}"${maskUser(d)}"`)
    .replace(/\b(username\s*=\s*")([^"]*)(")/gi, (_m, a: string, u: string, b: string) => `${a}${maskUser(u)}${b}`);
}

/** Masks the named fields of a row in place and returns it. */
export function maskFields<T extends Record<string, unknown>>(row: T, fields: readonly string[]): T {
  const r = row as Record<string, unknown>;
  for (const f of fields) {
    const v = r[f];
    if (typeof v === 'string') r[f] = maskUser(v);
    else if (Array.isArray(v)) r[f] = v.map((x) => (typeof x === 'string' ? maskSipText(x) : x));
  }
  return row;
}
