// hep-js ships no types; this declares only the surface the collector and its tests use.
declare module 'hep-js' {
  export interface HepJsRcinfo {
    protocolFamily?: number;
    protocol?: number;
    srcIp?: string;
    dstIp?: string;
    srcPort?: number;
    dstPort?: number;
    timeSeconds?: number;
    timeUseconds?: number;
    payloadType?: number;
    captureId?: number;
    capturePass?: string;
    correlation_id?: string;
    hepNodeName?: string;
    mos?: number;
    transaction_type?: number;
    [key: string]: unknown;
  }

  export interface HepJsDecoded {
    rcinfo?: HepJsRcinfo;
    payload?: string;
  }

  export interface HepJsEncodeInfo {
    protocolFamily: number;
    protocol: number;
    srcIp?: string;
    dstIp?: string;
    srcPort?: number | string;
    dstPort?: number | string;
    timeSeconds: number;
    timeUseconds: number;
    payloadType: number;
    captureId: number | string;
    hepNodeName?: string;
    capturePass?: string;
    correlation_id?: string;
    proto_type?: number;
    mos?: number;
    transaction_type?: string;
  }

  interface HepJs {
    /** `false` on any error, `undefined` when the packet has no chunks. */
    decapsulate(message: Buffer): HepJsDecoded | false | undefined;
    encapsulate(msg: string, rcinfo: HepJsEncodeInfo): Buffer;
  }

  const hepJs: HepJs;
  export default hepJs;
}
