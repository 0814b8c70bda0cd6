/**
 * Rates one ended leg in CGRateS and records the outcome on the CdrRecord. Never twice: a prepaid session is
 * terminated once (the flag travels with the CDR), ProcessCDR is idempotent in CGRateS (a second one answers
 * EXISTS), and a retry first asks CGRateS whether it already holds the CDR.
 */
import { isTollgateError } from '../shared/errors.ts';
import type { CgrEvent, RatingEngine } from './cgrates/client.ts';
import { needsAuthorization, type CallFacts } from './core/call.ts';
import { billableMs, isAnswered, type CdrRecord, type LegTiming } from './core/cdr.ts';
import { RatingErrors } from './errors.ts';

export function cgrEvent(f: CallFacts, t: Pick<LegTiming, 'createdUs' | 'answeredUs'> | undefined, usageMs?: number): CgrEvent {
  const created = t?.createdUs || f.createdUs || Date.now() * 1000;
  return {
    Tenant: f.tenant, ToR: '*voice', OriginID: f.uniqueId, OriginHost: f.originHost, RequestType: f.reqtype,
    Account: f.account, Subject: f.subject, Destination: f.destination, Category: f.category,
    SetupTime: new Date(Math.floor(created / 1000)).toISOString(),
    // Without AnswerTime CGRateS rates at SetupTime; an unanswered authorization is rated as if answered now.
    AnswerTime: new Date(Math.floor((t?.answeredUs || created) / 1000)).toISOString(),
    ...(usageMs === undefined ? {} : { Usage: `${usageMs}ms` }),
  };
}

export type RateOutcome = 'rated' | 'pending' | 'failed' | 'not_rated' | 'unanswered';

export async function rateLeg(rec: CdrRecord, engine: RatingEngine): Promise<RateOutcome> {
  const f = rec.facts;
  if (f.reqtype === '*none') {
    rec.ratingStatus = 'not_rated';
    return 'not_rated';
  }
  if (!isAnswered(rec.timing)) {
    rec.ratingStatus = 'unanswered';
    rec.cost = 0;
    return 'unanswered';
  }
  const usage = billableMs(rec.timing, rec.maxUsageMs);
  const ev = cgrEvent(f, rec.timing, usage);
  rec.ratingAttempts++;
  try {
    if (rec.ratingAttempts > 1) {
      const existing = await engine.cdr(f.uniqueId, f.originHost);
      if (existing && existing.Cost >= 0) {
        rec.sessionTerminated = true;
        return applyCdr(rec, existing);
      }
    }
    if (needsAuthorization(f.reqtype) && !rec.sessionTerminated) {
      // A session we initiated and CGRateS still holds is terminated (refunding the reserve); one CGRateS lost, or
      // that never started (fail-open, a leg seen only in a JSON CDR), is charged once by the same call.
      if (!rec.sessionInitiated || rec.ratingAttempts === 1 || (await engine.activeSession(f.uniqueId))) {
        await engine.terminate(ev);
      }
      rec.sessionTerminated = true;
    }
    await engine.processCdr(ev);
    const cdr = await engine.cdr(f.uniqueId, f.originHost);
    if (!cdr) throw new Error('CGRateS holds no CDR for this leg after ProcessCDR');
    if (cdr.Cost < 0) {
      rec.ratingStatus = 'failed';
      rec.ratingError = 'CGRateS stored the CDR unrated (Cost -1)';
      return 'failed';
    }
    return applyCdr(rec, cdr);
  } catch (err) {
    const unavailable = isTollgateError(err, RatingErrors.cgratesUnavailable);
    rec.ratingStatus = unavailable ? 'pending' : 'failed';
    rec.ratingError = (err as Error).message.slice(0, 500);
    return rec.ratingStatus;
  }
}

function applyCdr(rec: CdrRecord, cdr: { CGRID: string; Cost: number; CostSource?: string; CostDetails?: unknown }): 'rated' {
  rec.ratingStatus = 'rated';
  rec.ratingError = '';
  rec.cost = cdr.Cost;
  rec.cgrId = cdr.CGRID;
  rec.costSource = cdr.CostSource ?? '';
  rec.ratingDetails = cdr.CostDetails === undefined || cdr.CostDetails === null ? '' : JSON.stringify(cdr.CostDetails);
  return 'rated';
}
