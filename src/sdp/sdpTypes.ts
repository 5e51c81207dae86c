// Types shared by the SDP parser (parse.ts), the rewriter (rewrite.ts) and the call controller.
// Pure data: no key material lives in these types except the raw a=crypto text of a parsed
// media section, which the controller hands straight to the SDES parser.

export type AddrType = 'IP4' | 'IP6';

/** A c=/o=/a=rtcp address (`IN IP4 192.0.2.1`). Unicast only: no TTL or multicast count. */
export interface SdpAddress {
  readonly addrType: AddrType;
  readonly address: string;
}

/** One SDP line: the type letter and everything after `=`, verbatim. */
export interface SdpLine {
  readonly type: string;
  readonly value: string;
  /** 1-based line number in the input, for error context. */
  readonly lineNo: number;
}

/** The input split into the session section and one section per m= line, lines verbatim. */
export interface SdpDocument {
  readonly session: readonly SdpLine[];
  readonly media: readonly (readonly SdpLine[])[];
}

/**
 * How the relay treats a media section, by its transport protocol:
 * - 'rtp': RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF: relayed (SDES or plain);
 * - 'dtls': UDP/TLS/RTP/SAVP(F): DTLS-SRTP keying;
 * - 'other': anything else (UDPTL, BFCP, SCTP...): passed through untouched, not relayed.
 */
export type MediaClass = 'rtp' | 'dtls' | 'other';

export interface SdpCryptoText {
  /** The attribute value after `a=crypto:` (holds key material: never log it). */
  readonly value: string;
  readonly lineNo: number;
}

export interface SdpMedia {
  /** 0-based position among the m= lines. */
  readonly index: number;
  readonly type: string;
  /** m= port; for 'other' sections that the relay does not read, -1 when not a plain number. */
  readonly port: number;
  readonly protocol: string;
  readonly cls: MediaClass;
  /** Media-level c=, or null when the section inherits the session's. */
  readonly connection: SdpAddress | null;
  /** a=rtcp (RFC 3605): port and, when given, address. */
  readonly rtcp: { readonly port: number; readonly address: SdpAddress | null } | null;
  /** a=rtcp-mux present (exactly that name: a=rtcp-mux-only is another attribute). */
  readonly rtcpMux: boolean;
  readonly crypto: readonly SdpCryptoText[];
  /** a=fingerprint values (RFC 8122) of the section, else of the session; verbatim. */
  readonly fingerprints: readonly string[];
  /** a=setup value (RFC 4145) of the section, else of the session; null when absent. */
  readonly setup: string | null;
}

export interface SdpOrigin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly address: SdpAddress | null;
}

export interface ParsedSdp {
  readonly doc: SdpDocument;
  readonly origin: SdpOrigin;
  /** Session-level c=, or null. */
  readonly connection: SdpAddress | null;
  readonly media: readonly SdpMedia[];
}

/** What rewrite.ts does to one media section. */
export type MediaRewrite =
  /** Untouched (not relayed). If the section relied on a session c= that the plan replaces, the original c= is copied in so it still points where it did. */
  | { readonly kind: 'passthrough' }
  /** Port 0 (rejected or disabled stream): port set to 0, keying lines removed, an existing media c= replaced when `connection` is set. */
  | { readonly kind: 'disabled'; readonly connection: SdpAddress | null }
  | {
      readonly kind: 'relay';
      /** Our RTP port on this side. */
      readonly port: number;
      readonly protocol: string;
      /** Written as media-level c= unless the (rewritten) session c= already says the same. */
      readonly connection: SdpAddress;
      /** Written into every a=rtcp line (with `connection`'s address when the line had one). */
      readonly rtcpPort: number;
      /** Add `a=rtcp:<rtcpPort>` when the section has none. */
      readonly addRtcp: boolean;
      /** Whether a=rtcp-mux is present in the output. */
      readonly rtcpMux: boolean;
      /** a=crypto values (after `a=crypto:`) replacing every a=crypto line; empty for plain RTP. */
      readonly crypto: readonly string[];
      /**
       * DTLS-SRTP on this side: the relay's a=fingerprint and a=setup values written in place of
       * the peer's. Absent or null: no DTLS attributes at all (the peer's are always removed).
       */
      readonly dtls?: { readonly fingerprint: string; readonly setup: string } | null;
    };

export interface RewritePlan {
  /** Address written into o= (`replace: origin`), or null to keep o= as it is. */
  readonly origin: SdpAddress | null;
  /** Address written into the session-level c= if there is one, or null to keep it. */
  readonly sessionConnection: SdpAddress | null;
  /** Remove ICE attributes everywhere (`ICE: remove`). */
  readonly removeIce: boolean;
  /** Exactly one entry per m= line, in order. */
  readonly media: readonly MediaRewrite[];
}
