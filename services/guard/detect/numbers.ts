/**
 * Dialled numbers to E.164 and the high-risk destination list. Users dial `00…`, `011…` (NANP), `+…`, with tech
 * prefixes and separators; the fraud rules match on one normal form so a prefix is written once.
 */
import { TollgateError } from '../../shared/errors.ts';
import { GuardErrors } from '../errors.ts';

export interface NumberPlan {
  readonly techPrefixes: readonly string[];
  readonly defaultCountryCode: string;
}

/**
 * `+<digits>` for an international number, the bare digits otherwise (an extension or a national number without a
 * configured country code), `''` when nothing dialable is left.
 */
export function normaliseNumber(dialled: string, plan: NumberPlan): string {
  let n = dialled.trim();
  const semi = n.indexOf(';');
  if (semi >= 0) n = n.slice(0, semi);
  for (const tp of plan.techPrefixes) {
    if (tp !== '' && n.startsWith(tp)) {
      n = n.slice(tp.length);
      break;
    }
  }
  n = n.replace(/[\s().-]/g, '');
  let plus = false;
  if (n.startsWith('+')) {
    plus = true;
    n = n.slice(1);
  } else if (n.startsWith('00')) {
    plus = true;
    n = n.slice(2);
  } else if (n.startsWith('011') && n.length > 10) {
    plus = true;
    n = n.slice(3);
  }
  if (!/^\d+$/.test(n)) return '';
  if (plus) return `+${n}`;
  if (plan.defaultCountryCode !== '' && n.startsWith('0') && n.length > 6) return `+${plan.defaultCountryCode}${n.slice(1)}`;
  return n;
}

/** A set of `+digits` prefixes; `match` gives the longest one that starts a number. */
export class PrefixList {
  readonly #set: Set<string>;
  readonly #maxLen: number;

  constructor(prefixes: Iterable<string>) {
    this.#set = new Set(prefixes);
    this.#maxLen = Math.max(0, ...[...this.#set].map((p) => p.length));
  }

  get size(): number {
    return this.#set.size;
  }

  has(prefix: string): boolean {
    return this.#set.has(prefix);
  }

  match(e164: string): string | undefined {
    for (let len = Math.min(this.#maxLen, e164.length); len >= 1; len--) {
      const p = e164.slice(0, len);
      if (this.#set.has(p)) return p;
    }
    return undefined;
  }

  /** Parses the shipped text form: one `+digits` prefix per line, `#` comments; names the bad line. */
  static parse(text: string, source = 'high-risk list'): PrefixList {
    const out: string[] = [];
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const p = line.startsWith('00') ? `+${line.slice(2)}` : line;
      if (!/^\+\d{1,15}$/.test(p)) {
        throw new TollgateError(GuardErrors.badPrefixList, `${source} line ${i + 1}: "${line}" is not an E.164 prefix (expected + and 1-15 digits)`, { line: i + 1 });
      }
      out.push(p);
    });
    return new PrefixList(out);
  }
}
