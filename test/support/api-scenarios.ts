/**
 * Captured calls for the API tests, as HEP packets with exact times and addresses: an answered A-leg through a
 * proxy with its B-leg to a gateway (linked by X-CID, captured by two nodes), a busy call of another tenant, an
 * IPv6 call over TCP, registrations and a QoS report. Each call's packets are listed in capture order.
 */
import { encodeHep } from '../../services/shared/hep/index.ts';
import { callScenario, registerScenario, optionsScenario, type CapturedSip } from './sip-scenarios.ts';

export interface Host {
  readonly ip: string;
  readonly port: number;
}

export interface ApiPacket {
  readonly callId: string;
  readonly tsUs: number;
  readonly text: string;
  readonly src: Host;
  readonly dst: Host;
  readonly node: string;
  readonly tcp: boolean;
}

export const ALICE: Host = { ip: '192.0.2.10', port: 5060 };
export const PROXY_IN: Host = { ip: '192.0.2.1', port: 5060 };
export const PROXY_OUT: Host = { ip: '192.0.2.1', port: 5080 };
export const GATEWAY: Host = { ip: '198.51.100.20', port: 5060 };
export const V6_UA: Host = { ip: '2001:db8::10', port: 5060 };
export const V6_PROXY: Host = { ip: '2001:db8::1', port: 5060 };

const A = { user: '4930111222', domain: 'a.example' };
const B = { user: '4940333444', domain: 'a.example' };
const C = { user: 'carol', domain: 'pbx.b.example' };

function place(pkts: readonly CapturedSip[], ua: Host, proxy: Host, node: string, tcp = false, edit: (text: string, i: number) => string = (t) => t): ApiPacket[] {
  return pkts.map((p, i) => ({
    callId: p.callId, tsUs: p.tsUs, text: edit(p.text, i), src: p.fromUa ? ua : proxy, dst: p.fromUa ? proxy : ua, node, tcp,
  }));
}

export interface ApiScenarios {
  readonly aLeg: string;
  readonly bLeg: string;
  readonly busy: string;
  readonly v6: string;
  readonly reg: string;
  readonly regFail: string;
  readonly packets: ApiPacket[];
  /** Late OPTIONS that move every partition's clock past every call's timeout, so all calls are final. */
  readonly clock: ApiPacket[];
}

export function apiScenarios(t0: number): ApiScenarios {
  const aLeg = 'a-leg-4b7e@192.0.2.10';
  const bLeg = 'b-leg-77c1@192.0.2.1';
  const busy = 'busy-19ce@pbx.b.example';
  const v6 = 'v6-tcp-5d20@2001:db8::10';
  const reg = 'reg-a1@192.0.2.10';
  const regFail = 'reg-f2@pbx.b.example';
  const packets: ApiPacket[] = [
    ...place(callScenario('answered', aLeg, t0, A, B).packets, ALICE, PROXY_IN, 'proxy-1'),
    // The proxy forwards the INVITE 10 ms later on its outbound port; the gateway side is captured by sbc-1.
    ...place(callScenario('answered', bLeg, t0 + 10_000, { user: A.user, domain: 'a.example' }, { user: B.user, domain: 'a.example' }).packets,
      PROXY_OUT, GATEWAY, 'sbc-1', false,
      (text, i) => (i === 0 ? text.replace('Content-Length: 0', `X-CID: ${aLeg}\r\nContent-Length: 0`) : text)),
    ...place(callScenario('busy', busy, t0 + 500_000, C, { user: 'dave', domain: 'pbx.b.example' }).packets, ALICE, PROXY_IN, 'proxy-1'),
    ...place(callScenario('no_answer', v6, t0 + 700_000, A, B).packets, V6_UA, V6_PROXY, 'proxy-6', true,
      (text) => text.replace(/SIP\/2\.0\/UDP 192\.0\.2\.10:5060/g, 'SIP/2.0/TCP [2001:db8::10]:5060')),
    ...place(registerScenario(reg, t0 + 900_000, A).packets, ALICE, PROXY_IN, 'proxy-1'),
    ...place(registerScenario(regFail, t0 + 950_000, C, true).packets, ALICE, PROXY_IN, 'proxy-1'),
  ].sort((x, y) => x.tsUs - y.tsUs);
  const clock: ApiPacket[] = [];
  for (let i = 0; i < 12; i++) {
    clock.push(...place(optionsScenario(`clock-${i}@ping`, t0 + 3 * 3_600_000_000, { user: 'ping', domain: 'other.example' }).packets, ALICE, PROXY_IN, 'proxy-1'));
  }
  return { aLeg, bLeg, busy, v6, reg, regFail, packets, clock };
}

export function hepOf(p: ApiPacket, extra: { payloadType?: number; correlationId?: string; payload?: Buffer } = {}): Buffer {
  return encodeHep({
    version: 3,
    ipFamily: p.src.ip.includes(':') ? 6 : 4,
    protocol: p.tcp ? 6 : 17,
    srcIp: p.src.ip, dstIp: p.dst.ip, srcPort: p.src.port, dstPort: p.dst.port,
    timestampSec: Math.floor(p.tsUs / 1_000_000), timestampUsec: p.tsUs % 1_000_000,
    payloadType: extra.payloadType ?? 1, captureId: 2001,
    payload: extra.payload ?? Buffer.from(p.text, 'utf8'),
    ...(extra.correlationId !== undefined ? { correlationId: extra.correlationId } : {}),
    nodeName: p.node,
  });
}
