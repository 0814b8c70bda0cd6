/**
 * One error registry for the whole code base. Every error we raise carries a stable code (prefixed `TG_`) and
 * a `retryable` flag; callers branch on those, never on message text.
 */
export interface ErrorSpec {
  readonly code: string;
  readonly retryable: boolean;
  readonly description: string;
}

const registry = new Map<string, ErrorSpec>();

/** Registers a code once at module load; a second registration of the same code is a programming error. */
export function defineError(code: string, description: string, retryable = false): ErrorSpec {
  if (!/^TG_[A-Z0-9_]+$/.test(code)) throw new Error(`error code ${code} must match TG_[A-Z0-9_]+`);
  if (registry.has(code)) throw new Error(`error code ${code} registered twice`);
  const spec = Object.freeze({ code, retryable, description });
  registry.set(code, spec);
  return spec;
}

export function registeredErrors(): ErrorSpec[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export class TollgateError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(spec: ErrorSpec, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TollgateError';
    this.code = spec.code;
    this.retryable = spec.retryable;
    this.details = Object.freeze({ ...details });
  }
}

export function isTollgateError(err: unknown, spec?: ErrorSpec): err is TollgateError {
  return err instanceof TollgateError && (spec === undefined || err.code === spec.code);
}
