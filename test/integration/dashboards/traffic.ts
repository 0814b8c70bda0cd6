/**
 * The known traffic the dashboard tests run on: SIP dialogs, registrations and media reports with exact timestamps,
 * sent as HEP through a real collector (TCP, so nothing is lost) into Kafka, read by the real analyzer into
 * ClickHouse. Two tenants (acme: a.example, beta: *.b.example), two capture nodes (even sets node-a, odd node-b).
 */
import { encodeRtcp } from '../../../services/analyzer/qos/rtcp.ts';
import { callScenario, hepBytes, optionsScenario, registerScenario, type CapturedSip, type Scenario } from '../../support/sip-scenarios.ts';

export const SETS = 10;
export const TENANT_DOMAINS = 'a.example=acme,*.b.example=beta';
export const NODES = ['node-a', 'node-b'] as const;
const alice = { user: 'alice', domain: 'a.example' };
const bob = { user: 'bob', domain: 'a.example' };
const carol = { user: 'carol', domain: 'a.example' };
const dave = { user: 'dave', domain: 'a.example' };
const zoe = { user: 'zoe', domain: 'pbx.b.example' };
const erin = { user: 'erin', domain: 'pbx.b.example' };
export const HIGH_RISK_NUMBER = '+8816123456';
const satellite = { user: HIGH_RISK_NUMBER, domain: 'a.example' };

export interface KnownTraffic {
  /** HEP packets in send order (each call in its own order). */
  readonly packets: Buffer[];
  /** Call-IDs by kind, for exact lookups. */
  readonly answeredCallId: string;
  readonly scenarios: Scenario[];
}

/** A 503 instead of the 486 of the busy scenario: a network failure, not effective for NER. */
function failedScenario(cid: string, t: number): Scenario {
  const s = callScenario('busy', cid, t, alice, dave);
  return { ...s, name: 'failed', packets: s.packets.map((p) => ({ ...p, text: p.text.replace('SIP/2.0 486 Busy Here', 'SIP/2.0 503 Service Unavailable') })) };
}

export function knownTraffic(t0: number, tag: string): KnownTraffic {
  const scenarios: Array<{ s: Scenario; node: string }> = [];
  for (let i = 0; i < SETS; i++) {
    const t = t0 + i * 1_000_000;
    const node = NODES[i % 2]!;
    const add = (s: Scenario) => scenarios.push({ s, node });
    add(callScenario('answered', `ans-${i}-${tag}`, t, alice, bob));
    add(callScenario('busy', `bsy-${i}-${tag}`, t + 100, alice, carol));
    add(callScenario('no_answer', `noa-${i}-${tag}`, t + 200, alice, bob));
    add(failedScenario(`fld-${i}-${tag}`, t + 300));
    add(callScenario('cancelled', `can-${i}-${tag}`, t + 400, zoe, bob));
    add(callScenario('answered', `anb-${i}-${tag}`, t + 500, zoe, erin));
    add(registerScenario(`reg-${i}-${tag}`, t + 600, alice));
    add(registerScenario(`rgf-${i}-${tag}`, t + 700, zoe, true));
    if (i < 2) add(callScenario('answered', `hr-${i}-${tag}`, t + 800, alice, satellite));
  }
  const packets: Buffer[] = [];
  for (const { s, node } of scenarios) {
    for (const p of s.packets) packets.push(hepBytes(Buffer.from(p.text, 'utf8'), p.tsUs, p.fromUa, { nodeName: node }));
  }
  const answeredCallId = `ans-0-${tag}`;
  // Media of the first answered call: one RTCP SR with two report blocks, one HEP QoS (type 34) report.
  const rtcp = encodeRtcp([{
    type: 'sr', reporterSsrc: 11, sender: { ntpTs: 1n, rtpTs: 2, packets: 300, octets: 48_000 }, blocks: [
      { sourceSsrc: 22, fractionLost: 13, cumulativeLost: 4, highestSeq: 900, jitter: 40, lsr: 0, dlsr: 0 },
      { sourceSsrc: 33, fractionLost: 0, cumulativeLost: 0, highestSeq: 901, jitter: 8, lsr: 0, dlsr: 0 }],
  }]);
  packets.push(hepBytes(rtcp, t0 + 5_000_000, true, { payloadType: 5, correlationId: answeredCallId, nodeName: NODES[0] }));
  packets.push(hepBytes(Buffer.from(JSON.stringify({ MOS: 4.3, JITTER: 1.5, PACKET_LOSS: 2 })), t0 + 6_000_000, true,
    { payloadType: 34, correlationId: answeredCallId, nodeName: NODES[0] }));
  return { packets, answeredCallId, scenarios: scenarios.map((x) => x.s) };
}

/**
 * Late OPTIONS (capture time t0 + 3 h) that advance every partition's tracker clock so every call and REGISTER is
 * final. Fixed Call-IDs: their keys hash to every one of the 3 partitions.
 */
export function clockPackets(t0: number): Buffer[] {
  const out: Buffer[] = [];
  for (let k = 0; k < 24; k++) {
    const s = optionsScenario(`clock-${k}@tollgate.test`, t0 + 3 * 3_600_000_000, { user: 'ping', domain: 'other.example' });
    for (const p of s.packets as CapturedSip[]) out.push(hepBytes(Buffer.from(p.text, 'utf8'), p.tsUs, p.fromUa, { nodeName: 'clock' }));
  }
  return out;
}
