/**
 * CGRateS v0.10.x over JSON-RPC/HTTP (the I/O edge towards the rating engine). Every call has a timeout and goes
 * through the circuit breaker; failures come out as two codes: TG_CGRATES_UNAVAILABLE (no answer: retry later,
 * apply the outage policy) and TG_CGRATES_ERROR (CGRateS answered with an error string, e.g.
 * `RALS_ERROR:ACCOUNT_NOT_FOUND`). Shapes and units follow cgrates.md: durations as Go duration strings, MaxUsage
 * back in nanoseconds, top-level Tenant.
 */
import { TollgateError } from '../../shared/errors.ts';
import { RatingErrors } from '../errors.ts';
import { CircuitBreaker, type BreakerState } from './breaker.ts';
import { transportFor, type RpcTransport } from './transport.ts';

export interface CgrEvent {
  readonly Tenant: string;
  readonly ToR: '*voice';
  readonly OriginID: string;
  readonly OriginHost: string;
  readonly RequestType: string;
  readonly Account: string;
  readonly Subject: string;
  readonly Destination: string;
  readonly Category: string;
  readonly SetupTime: string;
  readonly AnswerTime?: string;
  /** Go duration string, e.g. `18000ms`. */
  readonly Usage?: string;
  readonly [extra: string]: unknown;
}

export interface CgrCdrInfo {
  readonly CGRID: string;
  readonly RunID: string;
  readonly Cost: number;
  readonly Usage: number;
  readonly CostSource?: string;
  readonly CostDetails?: unknown;
}

/** The port the rating service depends on (tests and the bench can put a counting wrapper around it). */
export interface RatingEngine {
  authorize(ev: CgrEvent): Promise<{ maxUsageNs: number }>;
  initiate(ev: CgrEvent): Promise<{ maxUsageNs: number }>;
  update(ev: CgrEvent): Promise<{ maxUsageNs: number }>;
  terminate(ev: CgrEvent): Promise<void>;
  processCdr(ev: CgrEvent): Promise<'ok' | 'exists'>;
  /** The `*default` run CDR of a leg, or undefined when CGRateS has none. */
  cdr(originId: string, originHost: string): Promise<CgrCdrInfo | undefined>;
  activeSession(originId: string): Promise<boolean>;
  account(tenant: string, account: string): Promise<AccountInfo | undefined>;
  cost(q: { tenant: string; category: string; subject: string; destination: string; usage: string; answerTime?: string }): Promise<{ cost: number; usageNs: number; details: unknown }>;
  readonly breakerState: BreakerState;
}

export interface AccountInfo {
  readonly tenant: string;
  readonly account: string;
  readonly balances: readonly { type: string; id: string; value: number }[];
  readonly monetary: number;
  readonly allowNegative: boolean;
  readonly disabled: boolean;
}

export interface CgratesClientOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly breakerFailures: number;
  readonly breakerCooldownMs: number;
  /** Persistent connections of a `tcp://` URL (default 2). */
  readonly connections?: number;
  readonly onCall?: (method: string, outcome: 'ok' | 'error' | 'unavailable', ms: number) => void;
  readonly onBreaker?: (state: BreakerState) => void;
}

export class CgratesClient implements RatingEngine {
  readonly #opts: CgratesClientOptions;
  readonly #breaker: CircuitBreaker;
  readonly #transport: RpcTransport;

  constructor(opts: CgratesClientOptions) {
    this.#opts = opts;
    this.#transport = transportFor(opts.url, opts.connections ?? 2);
    this.#breaker = new CircuitBreaker({ failures: opts.breakerFailures, cooldownMs: opts.breakerCooldownMs, onChange: opts.onBreaker });
  }

  get breakerState(): BreakerState {
    return this.#breaker.state;
  }

  close(): void {
    this.#transport.close();
  }

  async call<T>(method: string, params: unknown): Promise<T> {
    if (!this.#breaker.tryAcquire()) {
      this.#opts.onCall?.(method, 'unavailable', 0);
      throw new TollgateError(RatingErrors.cgratesUnavailable, `${method}: CGRateS circuit breaker is open (recent calls got no answer)`, { method, breaker: 'open' });
    }
    const started = performance.now();
    let body: { result: T; error: string | null };
    try {
      body = await this.#transport.call<T>(method, params, this.#opts.timeoutMs);
    } catch (err) {
      this.#breaker.failure();
      const ms = performance.now() - started;
      this.#opts.onCall?.(method, 'unavailable', ms);
      const e = err as Error;
      const why = e.name === 'TimeoutError' ? `no answer within ${this.#opts.timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message;
      throw new TollgateError(RatingErrors.cgratesUnavailable, `${method}: CGRateS at ${redact(this.#opts.url)} did not answer: ${why}`, { method }, { cause: err });
    }
    this.#breaker.success();
    const ms = performance.now() - started;
    if (body.error) {
      this.#opts.onCall?.(method, 'error', ms);
      throw new TollgateError(RatingErrors.cgratesError, `${method}: CGRateS answered ${body.error}`, { method, cgratesError: body.error });
    }
    this.#opts.onCall?.(method, 'ok', ms);
    return body.result;
  }

  async authorize(ev: CgrEvent): Promise<{ maxUsageNs: number }> {
    const r = await this.call<{ MaxUsage: number }>('SessionSv1.AuthorizeEvent', envelope(ev, { GetMaxUsage: true }, 'auth'));
    return { maxUsageNs: Number(r.MaxUsage ?? 0) };
  }

  async initiate(ev: CgrEvent): Promise<{ maxUsageNs: number }> {
    const r = await this.call<{ MaxUsage: number }>('SessionSv1.InitiateSession', envelope(ev, { InitSession: true }, 'init'));
    return { maxUsageNs: Number(r.MaxUsage ?? 0) };
  }

  async update(ev: CgrEvent): Promise<{ maxUsageNs: number }> {
    const r = await this.call<{ MaxUsage: number }>('SessionSv1.UpdateSession', envelope(ev, { UpdateSession: true }, 'update'));
    return { maxUsageNs: Number(r.MaxUsage ?? 0) };
  }

  async terminate(ev: CgrEvent): Promise<void> {
    await this.call<string>('SessionSv1.TerminateSession', envelope(ev, { TerminateSession: true }, 'term'));
  }

  async processCdr(ev: CgrEvent): Promise<'ok' | 'exists'> {
    try {
      await this.call<string>('SessionSv1.ProcessCDR', envelope(ev, {}, 'cdr'));
      return 'ok';
    } catch (err) {
      // A second ProcessCDR for the same OriginID+OriginHost: CGRateS already has this CDR (never rated twice).
      if (err instanceof TollgateError && /PARTIALLY_EXECUTED|EXISTS/.test(String(err.details['cgratesError']))) return 'exists';
      throw err;
    }
  }

  async cdr(originId: string, originHost: string): Promise<CgrCdrInfo | undefined> {
    try {
      const list = await this.call<CgrCdrInfo[]>('CDRsV1.GetCDRs', { OriginIDs: [originId], OriginHosts: [originHost], RunIDs: ['*default'] });
      return list[0];
    } catch (err) {
      if (err instanceof TollgateError && /NOT_FOUND/.test(String(err.details['cgratesError']))) return undefined;
      throw err;
    }
  }

  async activeSession(originId: string): Promise<boolean> {
    try {
      const list = await this.call<unknown[]>('SessionSv1.GetActiveSessions', { Filters: [`*string:~*req.OriginID:${originId}`] });
      return Array.isArray(list) && list.length > 0;
    } catch (err) {
      if (err instanceof TollgateError && /NOT_FOUND/.test(String(err.details['cgratesError']))) return false;
      throw err;
    }
  }

  async account(tenant: string, account: string): Promise<AccountInfo | undefined> {
    try {
      const a = await this.call<{ ID: string; BalanceMap: Record<string, { ID: string; Value: number }[]> | null; AllowNegative: boolean; Disabled: boolean }>(
        'APIerSv2.GetAccount', { Tenant: tenant, Account: account });
      const balances = Object.entries(a.BalanceMap ?? {}).flatMap(([type, list]) => list.map((b) => ({ type, id: b.ID, value: b.Value })));
      const monetary = balances.filter((b) => b.type === '*monetary').reduce((s, b) => s + b.value, 0);
      return { tenant, account, balances, monetary: Math.round(monetary * 1e9) / 1e9, allowNegative: a.AllowNegative, disabled: a.Disabled };
    } catch (err) {
      if (err instanceof TollgateError && /NOT_FOUND/.test(String(err.details['cgratesError']))) return undefined;
      throw err;
    }
  }

  /**
   * Prices a call through `Responder.GetCost`, not `APIerSv1.GetCost`: cgr-engine v0.10.4 wires the responder into
   * APIerSv1 at start-up without waiting for RALs, and in about 1 start in 20 (measured: 4 of 84 test runs) APIerSv1
   * keeps a nil responder; its GetCost then dereferences it and the whole engine exits on a Go panic, taking every
   * prepaid session with it. Calling the responder directly prices the same way (same rating plans, same rounding)
   * and, before RALs are up, answers "can't find service" instead.
   */
  async cost(q: { tenant: string; category: string; subject: string; destination: string; usage: string; answerTime?: string }): Promise<{ cost: number; usageNs: number; details: unknown }> {
    const usageNs = goDurationNs(q.usage);
    const startMs = q.answerTime === undefined ? Date.now() : Date.parse(q.answerTime);
    if (!Number.isFinite(startMs)) throw new TypeError(`answer time ${JSON.stringify(q.answerTime)}: expected an ISO 8601 date-time`);
    const r = await this.call<{ Cost: number; RatedUsage: number }>('Responder.GetCost', {
      Tenant: q.tenant, Category: q.category, Subject: q.subject, Account: q.subject, Destination: q.destination, ToR: '*voice',
      TimeStart: new Date(startMs).toISOString(), TimeEnd: new Date(startMs + usageNs / 1e6).toISOString(), DurationIndex: usageNs,
    });
    return { cost: r.Cost, usageNs: Number(r.RatedUsage ?? usageNs), details: r };
  }
}

const GO_DURATION_UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration string (`90s`, `1m30s`, `1.5h`) in nanoseconds. */
export function goDurationNs(text: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * GO_DURATION_UNIT_NS[m[2]!]!;
    at = re.lastIndex;
  }
  if (at === 0 || at !== text.length) throw new TypeError(`duration ${JSON.stringify(text)}: expected a Go duration such as 90s or 1m30s`);
  return Math.round(total);
}

function envelope(ev: CgrEvent, flags: Record<string, boolean>, kind: string): Record<string, unknown> {
  // Top-level Tenant is the one CGRateS uses (cgrates.md §7); ID names this request in CGRateS' logs.
  return { ...flags, Tenant: ev.Tenant, ID: `${kind}-${ev.OriginID}`, Event: ev };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '<redacted>';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
