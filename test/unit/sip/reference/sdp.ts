/**
 * A small SDP (RFC 4566) reader: just what call analysis needs — where media goes (c=, m= port), which codecs
 * are offered (payloads, rtpmap) and the direction attributes. Lines it does not understand are skipped, so a
 * sloppy body still yields what is readable.
 */

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpConnection {
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

export interface SdpOrigin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly netType: string;
  readonly addrType: string;
  readonly address: string;
}

export interface SdpRtpMap {
  readonly payload: number;
  readonly encoding: string;
  readonly clockRate: number | undefined;
  readonly channels: number | undefined;
}

export interface SdpMedia {
  /** audio, video, image, application, ... */
  readonly type: string;
  readonly port: number;
  readonly portCount: number | undefined;
  /** RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, udptl, ... */
  readonly proto: string;
  /** The fmt list as written. */
  readonly formats: readonly string[];
  /** The numeric entries of `formats` (RTP payload types). */
  readonly payloads: readonly number[];
  /** Media-level c= line, if any; the session-level one applies otherwise. */
  readonly connection: SdpConnection | undefined;
  readonly rtpmap: readonly SdpRtpMap[];
  /** Media-level direction attribute only; see `effectiveDirection`. */
  readonly direction: SdpDirection | undefined;
  readonly ptime: number | undefined;
}

export interface SdpSummary {
  readonly version: number | undefined;
  readonly origin: SdpOrigin | undefined;
  readonly sessionName: string | undefined;
  readonly connection: SdpConnection | undefined;
  readonly direction: SdpDirection | undefined;
  readonly media: readonly SdpMedia[];
}

interface MutableMedia {
  type: string;
  port: number;
  portCount: number | undefined;
  proto: string;
  formats: string[];
  payloads: number[];
  connection: SdpConnection | undefined;
  rtpmap: SdpRtpMap[];
  direction: SdpDirection | undefined;
  ptime: number | undefined;
}

function isDirection(s: string): s is SdpDirection {
  return s === 'sendrecv' || s === 'sendonly' || s === 'recvonly' || s === 'inactive';
}

function parseConnection(v: string): SdpConnection | undefined {
  const f = v.split(' ').filter((x) => x.length > 0);
  if (f.length < 3) return undefined;
  // IPv4 multicast carries /ttl[/count]; the address is what correlation needs.
  const addr = (f[2] as string).split('/')[0] as string;
  return { netType: f[0] as string, addrType: f[1] as string, address: addr };
}

function parseMedia(v: string): MutableMedia | undefined {
  const f = v.split(' ').filter((x) => x.length > 0);
  if (f.length < 3) return undefined;
  const [portStr, countStr] = (f[1] as string).split('/');
  if (portStr === undefined || !/^\d{1,5}$/.test(portStr)) return undefined;
  const port = Number(portStr);
  if (port > 65535) return undefined;
  const formats = f.slice(3);
  const payloads: number[] = [];
  for (const x of formats) if (/^\d{1,3}$/.test(x)) payloads.push(Number(x));
  return {
    type: f[0] as string,
    port,
    portCount: countStr !== undefined && /^\d{1,5}$/.test(countStr) ? Number(countStr) : undefined,
    proto: f[2] as string,
    formats,
    payloads,
    connection: undefined,
    rtpmap: [],
    direction: undefined,
    ptime: undefined,
  };
}

function parseRtpmap(v: string): SdpRtpMap | undefined {
  const m = /^(\d{1,3})\s+([^/\s]+)(?:\/(\d+))?(?:\/(\d+))?/.exec(v);
  if (m === null) return undefined;
  return {
    payload: Number(m[1]),
    encoding: m[2] as string,
    clockRate: m[3] === undefined ? undefined : Number(m[3]),
    channels: m[4] === undefined ? undefined : Number(m[4]),
  };
}

/** Returns undefined when the text has no `v=` or `m=` line at all, i.e. is not SDP. */
export function parseSdp(body: Buffer | string): SdpSummary | undefined {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let version: number | undefined;
  let origin: SdpOrigin | undefined;
  let sessionName: string | undefined;
  let connection: SdpConnection | undefined;
  let direction: SdpDirection | undefined;
  const media: MutableMedia[] = [];
  let cur: MutableMedia | undefined;
  // After an unreadable m= line its attributes must not leak into the session or the previous stream.
  let skipping = false;
  let seen = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length < 2 || line.charCodeAt(1) !== 61 /* = */) continue;
    const v = line.slice(2).trim();
    const key = line.charAt(0);
    if (skipping && key !== 'm') continue;
    switch (key) {
      case 'v':
        seen = true;
        version = /^\d+$/.test(v) ? Number(v) : undefined;
        break;
      case 'o': {
        const f = v.split(' ').filter((x) => x.length > 0);
        if (f.length >= 6) {
          origin = {
            username: f[0] as string,
            sessionId: f[1] as string,
            sessionVersion: f[2] as string,
            netType: f[3] as string,
            addrType: f[4] as string,
            address: f[5] as string,
          };
        }
        break;
      }
      case 's':
        if (cur === undefined) sessionName = v;
        break;
      case 'c': {
        const c = parseConnection(v);
        if (cur === undefined) connection = c;
        else cur.connection = c;
        break;
      }
      case 'm': {
        seen = true;
        cur = parseMedia(v);
        skipping = cur === undefined;
        if (cur !== undefined) media.push(cur);
        break;
      }
      case 'a': {
        const colon = v.indexOf(':');
        const name = colon === -1 ? v : v.slice(0, colon);
        const val = colon === -1 ? '' : v.slice(colon + 1).trim();
        if (isDirection(name)) {
          if (cur === undefined) direction = name;
          else cur.direction = name;
        } else if (name === 'rtpmap' && cur !== undefined) {
          const r = parseRtpmap(val);
          if (r !== undefined) cur.rtpmap.push(r);
        } else if (name === 'ptime' && cur !== undefined && /^\d+(\.\d+)?$/.test(val)) {
          cur.ptime = Number(val);
        }
        break;
      }
      default:
        break;
    }
  }
  if (!seen) return undefined;
  return { version, origin, sessionName, connection, direction, media };
}

/** The direction that applies to a stream: media-level, else session-level, else sendrecv (RFC 4566 §6). */
export function effectiveDirection(sdp: SdpSummary, m: SdpMedia): SdpDirection {
  return m.direction ?? sdp.direction ?? 'sendrecv';
}
