/**
 * Re-keying for scale-out. `sip.events` is keyed by source IP, and a response travels on the proxy's partition:
 * guards sharing the event partitions would each see a share of every account and of every client's answers. So
 * each guard forwards every event to three "facts" topics keyed by what a detector aggregates on, and the group
 * runs the detectors on those:
 * - `guard.facts.source`, keyed by the client (source of a request, destination of a response): a client's requests
 *   and the answers to them meet (flood and brute force per source, scanner);
 * - `guard.facts.account`, keyed by the From user: every message of a dialog or registration carries the same From,
 *   so a request and its answers meet, and all calls and credential failures of an account (auth user = From user,
 *   as every phone and sipvicious send them) land on one partition (distributed brute force, toll fraud);
 * - `guard.facts.destination`, keyed by the destination address of requests (flood per destination).
 */
import { clientIp, type SipEvent } from './detect/types.ts';

export const FACT_TOPICS = { source: 'guard.facts.source', account: 'guard.facts.account', destination: 'guard.facts.destination' } as const;
export type FactKind = keyof typeof FACT_TOPICS;

/** Methods the account detectors read (responses carry their request's method). */
const ACCOUNT_METHODS = new Set(['REGISTER', 'INVITE', 'BYE', 'CANCEL']);

export interface Fact {
  readonly kind: FactKind;
  readonly key: string;
}

/** Where one event goes; the value forwarded is the event record unchanged. */
export function factsOf(e: SipEvent): Fact[] {
  const out: Fact[] = [{ kind: 'source', key: clientIp(e) }];
  if (ACCOUNT_METHODS.has(e.method)) out.push({ kind: 'account', key: e.from_user });
  if (e.status === 0 && e.method !== 'ACK') out.push({ kind: 'destination', key: e.dst_ip });
  return out;
}
