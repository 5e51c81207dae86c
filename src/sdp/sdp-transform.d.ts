// Types for the parts of sdp-transform 3.x that srtpgate reads (the package ships none).
// Every field is optional and loosely typed on purpose: sdp-transform fills what its regexes
// matched, turns numeric-looking text into numbers (toIntIfInt) and leaves the rest absent,
// so callers must validate each value they use.
declare module 'sdp-transform' {
  export interface SdpTransformOrigin {
    username?: string | number;
    sessionId?: string | number;
    sessionVersion?: string | number;
    netType?: string;
    ipVer?: string | number;
    address?: string;
  }
  export interface SdpTransformConnection {
    version?: string | number;
    ip?: string;
  }
  export interface SdpTransformRtcp {
    port?: string | number;
    netType?: string;
    ipVer?: string | number;
    address?: string;
  }
  export interface SdpTransformMedia {
    type?: string;
    port?: string | number;
    protocol?: string;
    payloads?: string | number;
    connection?: SdpTransformConnection;
    rtcp?: SdpTransformRtcp;
    /** Lines no grammar rule matched, verbatim but without their position. */
    invalid?: { value: string }[];
    [key: string]: unknown;
  }
  export interface SdpTransformSession {
    version?: string | number;
    origin?: SdpTransformOrigin;
    connection?: SdpTransformConnection;
    media: SdpTransformMedia[];
    invalid?: { value: string }[];
    [key: string]: unknown;
  }
  export function parse(sdp: string): SdpTransformSession;
}
