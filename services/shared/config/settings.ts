/**
 * Declarative settings: each one names its environment variable, its form, its default and its documentation.
 * The same table validates the environment once at start-up and renders the README's configuration reference, so
 * docs and code cannot drift apart.
 */
import { defineError, TollgateError } from '../errors.ts';
import { redactText } from '../redact.ts';

export const CONFIG_INVALID = defineError('TG_CONFIG_INVALID', 'An environment variable has a value of the wrong form.');

export type Env = Readonly<Record<string, string | undefined>>;

export interface Setting<T> {
  readonly env: string;
  /** Human description of the accepted form, used in errors and docs, e.g. "a port number 1-65535". */
  readonly form: string;
  readonly doc: string;
  /** Printed in docs; `undefined` means "unset". */
  readonly defaultText?: string;
  /** Secrets are never logged or echoed in error messages. */
  readonly secret?: boolean;
  readonly parse: (raw: string | undefined) => T;
}

export class ConfigError extends TollgateError {
  constructor(readonly problems: readonly string[]) {
    super(CONFIG_INVALID, `invalid configuration:\n  - ${problems.join('\n  - ')}`, { problems });
    this.name = 'ConfigError';
  }
}

class SettingValueError extends Error {}

function fail(form: string): never {
  throw new SettingValueError(form);
}

function setting<T>(
  env: string,
  form: string,
  doc: string,
  defaultText: string | undefined,
  parse: (raw: string) => T,
  fallback: () => T,
  secret = false,
): Setting<T> {
  return {
    env,
    form,
    doc,
    defaultText,
    secret,
    parse: (raw) => (raw === undefined || raw.trim() === '' ? fallback() : parse(raw.trim())),
  };
}

export const s = {
  port(env: string, def: number, doc: string): Setting<number> {
    return setting(env, 'a port number 1-65535', doc, String(def), (raw) => {
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      return n >= 1 && n <= 65535 ? n : fail('a port number 1-65535');
    }, () => def);
  },
  int(env: string, def: number, min: number, max: number, doc: string): Setting<number> {
    const form = `an integer ${min}-${max}`;
    return setting(env, form, doc, String(def), (raw) => {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      return n >= min && n <= max ? n : fail(form);
    }, () => def);
  },
  bool(env: string, def: boolean, doc: string): Setting<boolean> {
    return setting(env, 'true or false (also 1/0, yes/no)', doc, String(def), (raw) => {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return fail('true or false (also 1/0, yes/no)');
    }, () => def);
  },
  enumOf<const V extends string>(env: string, values: readonly V[], def: V, doc: string): Setting<V> {
    const form = `one of ${values.join(', ')}`;
    return setting(env, form, doc, def, (raw) => ((values as readonly string[]).includes(raw) ? (raw as V) : fail(form)), () => def);
  },
  string(env: string, def: string, doc: string, pattern?: RegExp, form = 'a non-empty string'): Setting<string> {
    return setting(env, form, doc, def === '' ? undefined : def, (raw) => (pattern && !pattern.test(raw) ? fail(form) : raw), () => def);
  },
  optionalString(env: string, doc: string): Setting<string | undefined> {
    return setting<string | undefined>(env, 'a string', doc, undefined, (raw) => raw, () => undefined);
  },
  secret(env: string, doc: string, minLength = 1): Setting<string | undefined> {
    const form = `a secret of at least ${minLength} characters`;
    return setting<string | undefined>(env, form, doc, undefined, (raw) => (raw.length >= minLength ? raw : fail(form)), () => undefined, true);
  },
  /** Durations as `250ms`, `30s`, `5m`, `2h`, `7d` → milliseconds. */
  duration(env: string, defMs: number, doc: string, defText: string): Setting<number> {
    const form = 'a duration such as 500ms, 30s, 5m, 2h or 7d';
    return setting(env, form, doc, defText, (raw) => {
      const m = /^(\d+)(ms|s|m|h|d)$/.exec(raw);
      if (!m) return fail(form);
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
      return Number(m[1]) * unit;
    }, () => defMs);
  },
  /** Comma-separated `host:port` list; `undefined` when unset (the local stack is used). */
  hostPorts(env: string, doc: string): Setting<string[] | undefined> {
    const form = 'a comma-separated list of host:port';
    return setting<string[] | undefined>(env, form, doc, undefined, (raw) => {
      const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
      for (const hp of list) {
        const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(hp);
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(form);
      }
      return list.length > 0 ? list : fail(form);
    }, () => undefined);
  },
  url(env: string, doc: string, protocols: readonly string[] = ['http:', 'https:']): Setting<URL | undefined> {
    const form = `an absolute ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`;
    return setting<URL | undefined>(env, form, doc, undefined, (raw) => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        return fail(form);
      }
      return protocols.includes(u.protocol) ? u : fail(form);
    }, () => undefined);
  },
  urlList(env: string, doc: string): Setting<URL[]> {
    const form = 'a comma-separated list of absolute http(s) URLs';
    return setting<URL[]>(env, form, doc, undefined, (raw) =>
      raw.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
        try {
          const u = new URL(x);
          return u.protocol === 'http:' || u.protocol === 'https:' ? u : fail(form);
        } catch (e) {
          if (e instanceof SettingValueError) throw e;
          return fail(form);
        }
      }), () => []);
  },
};

/** Shows a rejected value without leaking secrets and without flooding the terminal. */
function shown(def: Setting<unknown>, raw: string): string {
  if (def.secret) return '<redacted>';
  const safe = redactText(raw);
  return JSON.stringify(safe.length > 80 ? `${safe.slice(0, 77)}...` : safe);
}

export type SettingsShape = Record<string, Setting<unknown>>;
export type Parsed<S extends SettingsShape> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Validates every setting, collecting all problems so the operator fixes them in one go. */
export function parseSettings<S extends SettingsShape>(shape: S, env: Env): Parsed<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, def] of Object.entries(shape)) {
    const raw = env[def.env];
    try {
      out[key] = def.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      problems.push(`${def.env}=${shown(def, raw ?? '')} is invalid: expected ${def.form}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Parsed<S>;
}

export function settingsDocTable(shape: SettingsShape): string {
  const rows = Object.values(shape).map((d) =>
    `| \`${d.env}\` | ${d.defaultText === undefined ? '*(unset)*' : `\`${d.defaultText}\``} | ${d.form} | ${d.doc}${d.secret ? ' Secret: never logged.' : ''} |`);
  return ['| variable | default | form | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
