/**
 * RTCP compound packets (RFC 3550 §6.4): the SR and RR report blocks are what QoS needs (loss, jitter per SSRC);
 * SDES, BYE, APP and XR packets in the compound are skipped. Every length is checked against the buffer, so a
 * truncated or lying packet is an error, never an out-of-bounds read.
 */
import { TollgateError } from '../../shared/errors.ts';
import { AnalyzerErrors } from '../errors.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;

export interface RtcpSenderInfo {
  /** NTP timestamp, 64-bit fixed point, as sent. */
  readonly ntpTs: bigint;
  readonly rtpTs: number;
  readonly packets: number;
  readonly octets: number;
}

export interface RtcpReportBlock {
  readonly sourceSsrc: number;
  /** 0..255: the fraction of packets lost since the last report, in 1/256ths. */
  readonly fractionLost: number;
  /** Signed 24-bit: duplicates can make it negative. */
  readonly cumulativeLost: number;
  readonly highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitter: number;
  readonly lsr: number;
  readonly dlsr: number;
}

export interface RtcpReport {
  readonly type: 'sr' | 'rr';
  readonly reporterSsrc: number;
  readonly sender: RtcpSenderInfo | undefined;
  readonly blocks: readonly RtcpReportBlock[];
}

function invalid(detail: string): TollgateError {
  return new TollgateError(AnalyzerErrors.rtcpInvalid, `RTCP: ${detail}`, { detail });
}

/** Parses a compound RTCP packet; throws TG_ANALYZER_RTCP_INVALID when it is not one. */
export function parseRtcp(buf: Buffer): RtcpReport[] {
  if (buf.length < 4) throw invalid(`${buf.length} bytes is shorter than an RTCP header`);
  const out: RtcpReport[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw invalid(`${buf.length - off} trailing bytes at ${off}`);
    const b0 = buf[off]!;
    if (b0 >> 6 !== 2) throw invalid(`version ${b0 >> 6} at ${off}`);
    const count = b0 & 0x1f;
    const pt = buf[off + 1]!;
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > buf.length) throw invalid(`packet type ${pt} at ${off} claims ${len} bytes, ${buf.length - off} left`);
    if (pt === RTCP_SR || pt === RTCP_RR) {
      const fixed = pt === RTCP_SR ? 28 : 8;
      if (len < fixed + count * 24) throw invalid(`${pt === RTCP_SR ? 'SR' : 'RR'} with ${count} blocks needs ${fixed + count * 24} bytes, has ${len}`);
      const reporterSsrc = buf.readUInt32BE(off + 4);
      const sender = pt === RTCP_SR
        ? { ntpTs: buf.readBigUInt64BE(off + 8), rtpTs: buf.readUInt32BE(off + 16), packets: buf.readUInt32BE(off + 20), octets: buf.readUInt32BE(off + 24) }
        : undefined;
      const blocks: RtcpReportBlock[] = [];
      for (let i = 0; i < count; i++) {
        const b = off + fixed + i * 24;
        blocks.push({
          sourceSsrc: buf.readUInt32BE(b),
          fractionLost: buf[b + 4]!,
          cumulativeLost: buf.readIntBE(b + 5, 3),
          highestSeq: buf.readUInt32BE(b + 8),
          jitter: buf.readUInt32BE(b + 12),
          lsr: buf.readUInt32BE(b + 16),
          dlsr: buf.readUInt32BE(b + 20),
        });
      }
      out.push({ type: pt === RTCP_SR ? 'sr' : 'rr', reporterSsrc, sender, blocks });
    } else if (pt < 192 || pt > 223) {
      // 192-223 is the RTCP range (RFC 5761); anything else is RTP or junk, not a compound we should trust.
      throw invalid(`packet type ${pt} at ${off} is not RTCP`);
    }
    off += len;
  }
  if (out.length === 0) throw invalid('no SR or RR in the compound packet');
  return out;
}

/** Encodes SR/RR packets back to bytes; used by tests and the load generator. */
export function encodeRtcp(reports: readonly RtcpReport[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of reports) {
    const fixed = r.type === 'sr' ? 28 : 8;
    const len = fixed + r.blocks.length * 24;
    const b = Buffer.alloc(len);
    b[0] = 0x80 | r.blocks.length;
    b[1] = r.type === 'sr' ? RTCP_SR : RTCP_RR;
    b.writeUInt16BE(len / 4 - 1, 2);
    b.writeUInt32BE(r.reporterSsrc >>> 0, 4);
    if (r.type === 'sr') {
      const s = r.sender ?? { ntpTs: 0n, rtpTs: 0, packets: 0, octets: 0 };
      b.writeBigUInt64BE(s.ntpTs, 8);
      b.writeUInt32BE(s.rtpTs >>> 0, 16);
      b.writeUInt32BE(s.packets >>> 0, 20);
      b.writeUInt32BE(s.octets >>> 0, 24);
    }
    r.blocks.forEach((k, i) => {
      const o = fixed + i * 24;
      b.writeUInt32BE(k.sourceSsrc >>> 0, o);
      b[o + 4] = k.fractionLost;
      b.writeIntBE(k.cumulativeLost, o + 5, 3);
      b.writeUInt32BE(k.highestSeq >>> 0, o + 8);
      b.writeUInt32BE(k.jitter >>> 0, o + 12);
      b.writeUInt32BE(k.lsr >>> 0, o + 16);
      b.writeUInt32BE(k.dlsr >>> 0, o + 20);
    });
    parts.push(b);
  }
  return Buffer.concat(parts);
}
