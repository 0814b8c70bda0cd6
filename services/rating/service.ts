/**
 * The rating service (events → decisions → switch, and legs → CDRs). One EslClient per FreeSWITCH node feeds
 * events in; each leg's events are handled in order on that leg's own chain, legs run concurrently. Decisions come
 * from the pure core (core/call.ts), CGRateS and the CDR writer sit behind narrow ports.
 *
 * After a reconnect the switch does not replay what we missed, so the service resyncs: `show channels as json`
 * lists what is still up (limits re-armed, parked channels decided, answers caught up through `uuid_dump`), and
 * every leg we knew that is gone waits for its mod_json_cdr post (the durable timing source) or, failing that, is
 * billed up to the last moment it was known up and marked estimated.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isTollgateError, TollgateError } from '../shared/errors.ts';
import type { Component, ComponentHealth } from '../shared/lifecycle.ts';
import type { RatingEngine } from './cgrates/client.ts';
import { callFacts, decidePark, isBilledLeg, needsAuthorization, parkCommands, remainingSeconds, type AuthOutcome, type CallDefaults, type CallFacts, type OutagePolicy, type ParkDecision } from './core/call.ts';
import { estimatedTiming, headersFromJsonCdr, timingFromHangup, type CdrRecord, type LegTiming } from './core/cdr.ts';
import { EslClient, type EslEndpoint } from './esl/client.ts';
import type { EslEvent } from './esl/events.ts';
import { RatingErrors } from './errors.ts';
import { cgrEvent, rateLeg } from './rater.ts';
import { cdrRow, recordFromRow } from './store/cdr-rows.ts';

export const SUBSCRIBED_EVENTS = ['CHANNEL_PARK', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE', 'BACKGROUND_JOB', 'HEARTBEAT'] as const;

export interface CdrSink {
  write(row: Record<string, unknown>): void;
}

export interface PendingCdrSource {
  /** Stored CDRs still to rate (after a restart). */
  pending(nodes: readonly string[], maxAttempts: number): Promise<Record<string, unknown>[]>;
  /** Whether a leg already has a stored CDR (a JSON CDR for a leg billed before a restart). */
  has(uniqueId: string): Promise<boolean>;
}

export interface RatingServiceOptions {
  readonly nodes: readonly EslEndpoint[];
  readonly password: string;
  readonly engine: RatingEngine;
  readonly cdrs: CdrSink;
  readonly stored?: PendingCdrSource;
  readonly defaults: CallDefaults;
  readonly policy: OutagePolicy;
  readonly debitIntervalMs: number;
  readonly retryIntervalMs: number;
  readonly maxAttempts: number;
  readonly jsonCdrWaitMs: number;
  readonly esl: { commandTimeoutMs: number; idleTimeoutMs: number; backoffMaxMs: number; backoffInitialMs?: number; connectTimeoutMs?: number };
  readonly registry: Registry;
  readonly log: Logger;
  /** Per park: time from the event's arrival to the decision written to the switch, and CGRateS' share of it. */
  readonly onParkDecided?: (info: { node: string; uuid: string; totalMs: number; cgratesMs: number; decision: ParkDecision }) => void;
}

interface Leg {
  facts: CallFacts;
  decision: ParkDecision | undefined;
  maxUsageMs: number;
  answeredUs: number;
  initiated: boolean;
  lastUpUs: number;
  finalized: boolean;
  chain: Promise<void>;
  timers: Set<NodeJS.Timeout>;
  /** Set when the leg vanished while the socket was down: it waits for its JSON CDR. */
  awaitingCdr: boolean;
}

export class RatingService implements Component {
  readonly name = 'rating';
  readonly clients: ReadonlyMap<string, EslClient>;
  readonly #o: RatingServiceOptions;
  readonly #legs = new Map<string, Leg>();
  /** Legs already finalized (Unique-ID → timing source), so a late HANGUP or JSON CDR is not billed again. */
  readonly #done = new Map<string, string>();
  readonly #retry = new Map<string, CdrRecord>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retrying = false;
  #closed = false;
  readonly #lastData = new Map<string, number>();
  readonly #m;
  /** Counted outcomes for tests and reports. */
  readonly counts = { parks: 0, answered: 0, cdrs: 0, rated: 0, estimated: 0, jsonCdrs: 0, resyncs: 0 };

  constructor(o: RatingServiceOptions) {
    this.#o = o;
    const r = o.registry;
    this.#m = {
      decisions: new Counter({ name: 'tollgate_rating_park_decisions_total', help: 'Park decisions by action and reason.', labelNames: ['node', 'action', 'reason'], registers: [r] }),
      decisionSeconds: new Histogram({ name: 'tollgate_rating_park_decision_seconds', help: 'CHANNEL_PARK received → decision written to the switch.', labelNames: ['part'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [r] }),
      events: new Counter({ name: 'tollgate_rating_esl_events_total', help: 'Event-socket events received.', labelNames: ['node', 'event'], registers: [r] }),
      protocolErrors: new Counter({ name: 'tollgate_rating_esl_protocol_errors_total', help: 'Unparseable event-socket frames or event bodies.', labelNames: ['node'], registers: [r] }),
      connected: new Gauge({ name: 'tollgate_rating_esl_connected', help: '1 while the event socket of a node is connected.', labelNames: ['node'], registers: [r] }),
      reconnects: new Counter({ name: 'tollgate_rating_esl_reconnects_total', help: 'Event-socket reconnections (each followed by a resync).', labelNames: ['node'], registers: [r] }),
      inFlight: new Gauge({ name: 'tollgate_rating_events_in_flight', help: 'Channel events read from the sockets and not yet handled (the internal queue; the sockets are never left unread).', registers: [r] }),
      legsQueued: new Gauge({ name: 'tollgate_rating_legs_open', help: 'Legs known and not yet billed.', registers: [r] }),
      cdrs: new Counter({ name: 'tollgate_rating_cdrs_total', help: 'CDR revisions produced, by rating status and timing source.', labelNames: ['status', 'timing'], registers: [r] }),
      commandErrors: new Counter({ name: 'tollgate_rating_esl_command_errors_total', help: 'ESL commands that failed (no reply, -ERR, disconnected).', labelNames: ['node', 'command'], registers: [r] }),
      sessionErrors: new Counter({ name: 'tollgate_rating_session_errors_total', help: 'CGRateS session calls that failed during a call.', labelNames: ['method', 'code'], registers: [r] }),
      retryQueue: new Gauge({ name: 'tollgate_rating_retry_queue', help: 'CDRs waiting to be (re-)rated.', registers: [r] }),
      jsonCdrs: new Counter({ name: 'tollgate_rating_json_cdrs_total', help: 'mod_json_cdr posts by outcome.', labelNames: ['outcome'], registers: [r] }),
    };
    const clients = new Map<string, EslClient>();
    for (const ep of o.nodes) {
      clients.set(ep.name, new EslClient({
        endpoint: ep, password: o.password, events: SUBSCRIBED_EVENTS, commandTimeoutMs: o.esl.commandTimeoutMs,
        connectTimeoutMs: o.esl.connectTimeoutMs ?? 3_000, idleTimeoutMs: o.esl.idleTimeoutMs,
        backoffInitialMs: o.esl.backoffInitialMs ?? 200, backoffMaxMs: o.esl.backoffMaxMs, log: o.log.child({ layer: 'esl' }),
      }, {
        onEvent: (ev, node) => this.#onEvent(ev, node),
        onConnected: (node, reconnect) => this.#onConnected(node, reconnect),
        onDisconnected: (node, reason) => this.#onDisconnected(node, reason),
        onProtocolError: (node) => this.#m.protocolErrors.inc({ node }),
      }));
      this.#m.connected.set({ node: ep.name }, 0);
    }
    this.clients = clients;
  }

  async start(): Promise<void> {
    if (this.#o.stored) {
      try {
        const rows = await this.#o.stored.pending(this.#o.nodes.map((n) => n.name), this.#o.maxAttempts);
        for (const row of rows) {
          const rec = recordFromRow(row);
          this.#retry.set(rec.facts.uniqueId, rec);
        }
        if (rows.length > 0) this.#o.log.info({ cdrs: rows.length }, 'CDRs left to rate from before the restart');
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'could not load CDRs left to rate; they are picked up at the next start');
      }
    }
    for (const c of this.clients.values()) await c.start();
    this.#scheduleRetry();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const c of this.clients.values()) await c.close();
    await Promise.allSettled([...this.#legs.values()].map((l) => l.chain));
    for (const leg of this.#legs.values()) for (const t of leg.timers) clearTimeout(t);
  }

  async destroy(): Promise<void> {
    await this.close();
  }

  health(): ComponentHealth {
    const down = [...this.clients.values()].filter((c) => !c.connected).map((c) => c.node);
    const breaker = this.#o.engine.breakerState;
    const parts = [`${this.clients.size - down.length}/${this.clients.size} switches connected`, `CGRateS breaker ${breaker}`, `${this.#retry.size} CDRs to rate`];
    if (down.length > 0) parts.push(`away: ${down.join(', ')}`);
    return { state: down.length > 0 || breaker !== 'closed' ? 'degraded' : 'ok', detail: parts.join('; ') };
  }

  /** Legs known and not yet billed (tests). */
  get openLegs(): number {
    return [...this.#legs.values()].filter((l) => !l.finalized).length;
  }

  get retryQueue(): number {
    return this.#retry.size;
  }

  // ---- events ------------------------------------------------------------------------------------------------

  #onEvent(ev: EslEvent, node: string): void {
    this.#lastData.set(node, Date.now() * 1000);
    this.#m.events.inc({ node, event: ev.name });
    if (ev.name !== 'CHANNEL_PARK' && ev.name !== 'CHANNEL_ANSWER' && ev.name !== 'CHANNEL_HANGUP_COMPLETE') return;
    const uuid = ev.headers['Unique-ID'];
    if (!uuid) {
      this.#m.protocolErrors.inc({ node });
      this.#o.log.warn({ node, event: ev.name }, 'channel event without Unique-ID ignored');
      return;
    }
    if (this.#done.has(uuid)) return;
    const receivedAt = performance.now();
    const leg = this.#leg(uuid, () => callFacts(ev.headers, node, this.#o.defaults));
    leg.lastUpUs = Date.now() * 1000;
    this.#enqueue(leg, async () => {
      if (ev.name === 'CHANNEL_PARK') await this.#onPark(leg, receivedAt);
      else if (ev.name === 'CHANNEL_ANSWER') await this.#onAnswer(leg, Number(ev.headers['Caller-Channel-Answered-Time']) || Date.now() * 1000);
      else await this.#finalize(leg, timingFromHangup(ev.headers, 'event'));
    });
  }

  #leg(uuid: string, facts: () => CallFacts): Leg {
    let leg = this.#legs.get(uuid);
    if (!leg) {
      leg = { facts: facts(), decision: undefined, maxUsageMs: 0, answeredUs: 0, initiated: false, lastUpUs: Date.now() * 1000, finalized: false, chain: Promise.resolve(), timers: new Set(), awaitingCdr: false };
      this.#legs.set(uuid, leg);
      this.#m.legsQueued.set(this.#legs.size);
    }
    return leg;
  }

  /** One chain per leg: PARK, ANSWER and HANGUP of a leg are handled in order; different legs concurrently. */
  #enqueue(leg: Leg, work: () => Promise<void>): void {
    this.#m.inFlight.inc();
    leg.chain = leg.chain.then(work).catch((err: unknown) => {
      this.#o.log.error({ err, uuid: leg.facts.uniqueId, node: leg.facts.node }, 'rating a leg failed unexpectedly');
    }).finally(() => this.#m.inFlight.dec());
  }

  async #onPark(leg: Leg, receivedAt: number): Promise<void> {
    if (leg.decision !== undefined || leg.finalized) return;
    this.counts.parks++;
    const f = leg.facts;
    let auth: AuthOutcome | undefined;
    let cgratesMs = 0;
    if (needsAuthorization(f.reqtype) && isBilledLeg(f)) {
      const t0 = performance.now();
      try {
        auth = { kind: 'max-usage', ...(await this.#o.engine.authorize(cgrEvent(f, undefined))) };
      } catch (err) {
        auth = isTollgateError(err, RatingErrors.cgratesUnavailable)
          ? { kind: 'unavailable', error: (err as Error).message }
          : { kind: 'rejected', error: isTollgateError(err) ? String(err.details['cgratesError'] ?? err.message) : (err as Error).message };
      }
      cgratesMs = performance.now() - t0;
    }
    const decision = decidePark(f.reqtype, auth, this.#o.policy, isBilledLeg(f));
    leg.decision = decision;
    if (decision.action === 'allow') leg.maxUsageMs = decision.maxUsageMs;
    const commands = parkCommands(f.uniqueId, f, decision);
    const client = this.clients.get(f.node);
    // Written back to back on one socket (FreeSWITCH runs them in order); the decision is "sent" once all are written.
    const replies = commands.map((c) => this.#api(client, c, f.node));
    const totalMs = performance.now() - receivedAt;
    this.#m.decisionSeconds.observe({ part: 'total' }, totalMs / 1000);
    this.#m.decisionSeconds.observe({ part: 'own' }, (totalMs - cgratesMs) / 1000);
    this.#m.decisions.inc({ node: f.node, action: decision.action, reason: decision.reason });
    this.#o.onParkDecided?.({ node: f.node, uuid: f.uniqueId, totalMs, cgratesMs, decision });
    const logFields = { node: f.node, uuid: f.uniqueId, account: f.account, destination: f.destination, reqtype: f.reqtype, action: decision.action, reason: decision.reason, ms: Math.round(totalMs * 10) / 10 };
    if (decision.action === 'refuse') this.#o.log.info({ ...logFields, cause: decision.cause, detail: decision.detail }, 'call refused before answer');
    else this.#o.log.info({ ...logFields, maxUsageMs: decision.action === 'allow' ? decision.maxUsageMs : undefined }, 'park decided');
    await Promise.all(replies);
  }

  async #onAnswer(leg: Leg, answeredUs: number): Promise<void> {
    if (leg.finalized || leg.answeredUs > 0) return;
    leg.answeredUs = answeredUs;
    this.counts.answered++;
    const f = leg.facts;
    if (!isBilledLeg(f) || !needsAuthorization(f.reqtype) || leg.decision?.action !== 'allow' || leg.decision.reason !== 'credit') return;
    const reserveMs = this.#o.debitIntervalMs > 0 ? this.#o.debitIntervalMs : leg.maxUsageMs;
    try {
      const r = await this.#o.engine.initiate(cgrEvent(f, { createdUs: f.createdUs, answeredUs }, reserveMs));
      leg.initiated = true;
      const grantedMs = Math.floor(r.maxUsageNs / 1e6);
      if (this.#o.debitIntervalMs > 0) this.#scheduleUpdate(leg, grantedMs);
      else if (grantedMs < reserveMs) {
        // Credit shrank between park and answer (another call of the account): cut earlier than armed.
        leg.maxUsageMs = grantedMs;
        await this.#rearm(leg);
      }
    } catch (err) {
      const code = isTollgateError(err) ? err.code : 'unknown';
      this.#m.sessionErrors.inc({ method: 'InitiateSession', code });
      // The call is answered and capped by the armed limit; it is charged at hangup (TerminateSession charges an
      // unknown session once).
      this.#o.log.warn({ uuid: f.uniqueId, node: f.node, err: (err as Error).message }, 'InitiateSession failed; the leg is charged at hangup');
    }
  }

  #scheduleUpdate(leg: Leg, grantedMs: number): void {
    const t = setTimeout(() => {
      leg.timers.delete(t);
      this.#enqueue(leg, async () => {
        if (leg.finalized) return;
        const used = Math.floor((Date.now() * 1000 - leg.answeredUs) / 1000);
        try {
          const r = await this.#o.engine.update(cgrEvent(leg.facts, { createdUs: leg.facts.createdUs, answeredUs: leg.answeredUs }, this.#o.debitIntervalMs));
          const granted = Math.floor(r.maxUsageNs / 1e6);
          if (granted < this.#o.debitIntervalMs) {
            leg.maxUsageMs = used + granted;
            await this.#rearm(leg);
          } else this.#scheduleUpdate(leg, granted);
        } catch (err) {
          this.#m.sessionErrors.inc({ method: 'UpdateSession', code: isTollgateError(err) ? err.code : 'unknown' });
          this.#scheduleUpdate(leg, this.#o.debitIntervalMs);
        }
      });
    }, Math.max(1_000, grantedMs));
    leg.timers.add(t);
  }

  /** Re-arms the cut-off of an answered leg with what is left of its authorized usage. */
  async #rearm(leg: Leg): Promise<void> {
    if (leg.maxUsageMs <= 0 || leg.answeredUs === 0) return;
    const secs = remainingSeconds(leg.maxUsageMs, leg.answeredUs / 1000, Date.now());
    await this.#api(this.clients.get(leg.facts.node), `sched_hangup +${secs} ${leg.facts.uniqueId} ALLOTTED_TIMEOUT`, leg.facts.node);
  }

  async #api(client: EslClient | undefined, command: string, node: string): Promise<string | undefined> {
    if (!client) return undefined;
    try {
      const reply = await client.api(command);
      if (reply.startsWith('-ERR')) {
        this.#m.commandErrors.inc({ node, command: command.split(' ')[0]! });
        this.#o.log.warn({ node, command, reply: reply.trim() }, 'FreeSWITCH refused a command');
      }
      return reply;
    } catch (err) {
      this.#m.commandErrors.inc({ node, command: command.split(' ')[0]! });
      this.#o.log.warn({ node, command, err: (err as Error).message }, 'ESL command failed');
      return undefined;
    }
  }

  // ---- billing -----------------------------------------------------------------------------------------------

  async #finalize(leg: Leg, timing: LegTiming): Promise<void> {
    if (leg.finalized) return;
    leg.finalized = true;
    for (const t of leg.timers) clearTimeout(t);
    leg.timers.clear();
    const f = leg.facts;
    this.#done.set(f.uniqueId, timing.source);
    if (this.#done.size > 200_000) this.#done.delete(this.#done.keys().next().value!);
    this.#legs.delete(f.uniqueId);
    this.#m.legsQueued.set(this.#legs.size);
    const decision = leg.decision;
    const rec: CdrRecord = {
      facts: f, timing, decision: decision?.reason ?? 'none', maxUsageMs: leg.maxUsageMs, sessionInitiated: leg.initiated,
      sessionTerminated: false, ratingStatus: 'pending', ratingError: '', ratingAttempts: 0, cost: null, costSource: '', cgrId: '', ratingDetails: '',
    };
    if (!isBilledLeg(f)) {
      rec.ratingStatus = 'not_rated';
      rec.ratingError = 'outbound leg: the call is billed on its inbound leg';
    } else if (decision?.action === 'refuse') {
      rec.ratingStatus = 'unanswered';
      rec.cost = 0;
    } else if (this.#o.engine.breakerState === 'open') {
      rec.ratingError = 'CGRateS unavailable (breaker open); rated when it is back';
    } else {
      await rateLeg(rec, this.#o.engine);
    }
    this.counts.cdrs++;
    if (timing.source === 'estimated') this.counts.estimated++;
    this.#emit(rec);
  }

  #emit(rec: CdrRecord): void {
    if (rec.ratingStatus === 'rated') this.counts.rated++;
    if (rec.ratingStatus === 'pending' || (rec.ratingStatus === 'failed' && rec.ratingAttempts < this.#o.maxAttempts)) this.#retry.set(rec.facts.uniqueId, rec);
    else this.#retry.delete(rec.facts.uniqueId);
    this.#m.retryQueue.set(this.#retry.size);
    this.#m.cdrs.inc({ status: rec.ratingStatus, timing: rec.timing.source });
    if (rec.ratingStatus === 'failed') this.#o.log.warn({ uuid: rec.facts.uniqueId, error: rec.ratingError, attempts: rec.ratingAttempts }, 'CDR rating failed; kept and re-rated later');
    this.#o.cdrs.write(cdrRow(rec));
  }

  #scheduleRetry(): void {
    if (this.#closed) return;
    this.#retryTimer = setTimeout(() => void this.retryNow().finally(() => this.#scheduleRetry()), this.#o.retryIntervalMs);
  }

  /** Re-rates every CDR whose rating is pending or failed (also run by the timer). */
  async retryNow(): Promise<void> {
    if (this.#retrying || this.#retry.size === 0) return;
    this.#retrying = true;
    try {
      for (const rec of [...this.#retry.values()]) {
        if (this.#o.engine.breakerState === 'open') break;
        const before = rec.ratingStatus;
        await rateLeg(rec, this.#o.engine);
        if (rec.ratingStatus !== before || rec.ratingStatus !== 'pending') this.#emit(rec);
      }
    } finally {
      this.#retrying = false;
    }
  }

  // ---- reconnect and resync ----------------------------------------------------------------------------------

  /**
   * Until the socket broke, a hangup would have reached us, so the calls still open were up at that moment: a closed
   * socket is noticed at once; a silent one only after the idle timeout, so then the last byte received counts.
   */
  #onDisconnected(node: string, reason: string): void {
    this.#m.connected.set({ node }, 0);
    const lastData = reason.startsWith('nothing received') ? (this.#lastData.get(node) ?? Date.now() * 1000) : Date.now() * 1000;
    for (const leg of this.#legs.values()) if (leg.facts.node === node && !leg.finalized) leg.lastUpUs = Math.max(leg.lastUpUs, lastData);
  }

  #onConnected(node: string, reconnect: boolean): void {
    this.#m.connected.set({ node }, 1);
    this.#lastData.set(node, Date.now() * 1000);
    if (reconnect) this.#m.reconnects.inc({ node });
    // A first connection also resyncs: calls parked while the service was down are waiting for a decision.
    void this.#resync(node).catch((err: unknown) => this.#o.log.error({ err, node }, 'resync after reconnect failed'));
  }

  async #resync(node: string): Promise<void> {
    const client = this.clients.get(node);
    if (!client) return;
    this.counts.resyncs++;
    const raw = await client.api('show channels as json');
    let rows: { uuid: string; state?: string; application?: string; callstate?: string }[] = [];
    try {
      const parsed = JSON.parse(raw) as { rows?: typeof rows };
      rows = parsed.rows ?? [];
    } catch {
      throw new TollgateError(RatingErrors.eslProtocol, `show channels as json on ${node} did not answer JSON: ${raw.slice(0, 80)}`);
    }
    const live = new Set(rows.map((r) => r.uuid));
    const nowUs = Date.now() * 1000;
    let rearmed = 0;
    let vanished = 0;
    let parked = 0;
    for (const leg of [...this.#legs.values()]) {
      if (leg.facts.node !== node || leg.finalized) continue;
      if (live.has(leg.facts.uniqueId)) {
        leg.lastUpUs = nowUs;
        this.#enqueue(leg, async () => {
          if (leg.answeredUs === 0) {
            const dump = await this.#dump(client, leg.facts.uniqueId);
            const answered = Number(dump?.['Caller-Channel-Answered-Time'] ?? 0);
            if (answered > 0) await this.#onAnswer(leg, answered);
          }
          if (leg.answeredUs > 0 && leg.maxUsageMs > 0) {
            await this.#rearm(leg);
            rearmed++;
          }
        });
      } else {
        vanished++;
        leg.awaitingCdr = true;
        const t = setTimeout(() => {
          leg.timers.delete(t);
          this.#enqueue(leg, async () => {
            if (leg.finalized) return;
            this.#o.log.warn({ uuid: leg.facts.uniqueId, node }, 'leg ended while the event socket was down and no JSON CDR came: billed to the last moment it was known up (estimated)');
            await this.#finalize(leg, estimatedTiming({ createdUs: leg.facts.createdUs, answeredUs: leg.answeredUs }, leg.lastUpUs));
          });
        }, this.#o.jsonCdrWaitMs);
        leg.timers.add(t);
      }
    }
    // Channels parked while we were away are still waiting for a decision.
    for (const r of rows) {
      if (this.#legs.has(r.uuid) || this.#done.has(r.uuid) || r.application !== 'park') continue;
      const dump = await this.#dump(client, r.uuid);
      if (!dump) continue;
      parked++;
      const leg = this.#leg(r.uuid, () => callFacts(dump, node, this.#o.defaults));
      this.#enqueue(leg, () => this.#onPark(leg, performance.now()));
    }
    this.#o.log.info({ node, live: live.size, rearmed, vanished, parked }, 'resynced after (re)connect');
  }

  async #dump(client: EslClient, uuid: string): Promise<Record<string, string> | undefined> {
    const raw = await client.api(`uuid_dump ${uuid} json`).catch(() => undefined);
    if (!raw || raw.startsWith('-ERR')) return undefined;
    try {
      return JSON.parse(raw) as Record<string, string>;
    } catch {
      return undefined;
    }
  }

  // ---- mod_json_cdr ------------------------------------------------------------------------------------------

  /**
   * A FreeSWITCH JSON CDR (mod_json_cdr post): the durable timing of a leg. A leg still open (its hangup was missed)
   * is billed with it; a leg already billed from its hangup event is left alone; a leg never seen is billed now.
   */
  async ingestJsonCdr(doc: unknown): Promise<'billed' | 'duplicate' | 'ignored'> {
    let headers: Record<string, string>;
    try {
      headers = headersFromJsonCdr(doc);
    } catch (err) {
      this.#m.jsonCdrs.inc({ outcome: 'invalid' });
      throw new TollgateError(RatingErrors.jsonCdrInvalid, `not a FreeSWITCH JSON CDR: ${(err as Error).message}`);
    }
    this.counts.jsonCdrs++;
    const uuid = headers['Unique-ID']!;
    if (this.#done.has(uuid)) {
      this.#m.jsonCdrs.inc({ outcome: 'duplicate' });
      return 'duplicate';
    }
    const switchname = typeof (doc as { switchname?: unknown }).switchname === 'string' ? (doc as { switchname: string }).switchname : '';
    const known = this.#legs.get(uuid);
    if (!known && this.#o.stored && (await this.#o.stored.has(uuid).catch(() => false))) {
      this.#done.set(uuid, 'stored');
      this.#m.jsonCdrs.inc({ outcome: 'duplicate' });
      return 'duplicate';
    }
    const node = known?.facts.node ?? (this.clients.has(switchname) ? switchname : switchname || 'unknown');
    const leg = known ?? this.#leg(uuid, () => callFacts(headers, node, this.#o.defaults));
    const timing = timingFromHangup(headers, 'json_cdr');
    if (!known && timing.answeredUs > 0) leg.answeredUs = timing.answeredUs;
    let outcome: 'billed' | 'duplicate' = 'billed';
    await new Promise<void>((resolve) => {
      this.#enqueue(leg, async () => {
        if (leg.finalized) outcome = 'duplicate';
        else await this.#finalize(leg, timing);
        resolve();
      });
    });
    this.#m.jsonCdrs.inc({ outcome });
    return outcome;
  }
}

/** The `cdrs` table as the service's store of CDRs still to rate (after a restart). */
export function storedCdrs(query: <T>(sql: string, params: Record<string, unknown>) => Promise<T[]>): PendingCdrSource {
  return {
    pending: (nodes, maxAttempts) => query<Record<string, unknown>>(
      `SELECT * FROM cdrs FINAL WHERE rating_status IN ('pending', 'failed') AND rating_attempts < {max:UInt32} AND node IN {nodes:Array(String)} LIMIT 100000`,
      { max: maxAttempts, nodes }),
    has: async (uniqueId) => Number((await query<{ n: string }>('SELECT count() AS n FROM cdrs WHERE unique_id = {id:String}', { id: uniqueId }))[0]?.n ?? 0) > 0,
  };
}
