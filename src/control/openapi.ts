// The OpenAPI 3.1 description of the HTTP API, served at /openapi.json.
//
// Enumerations (suite names, transport protocols, ICE modes, ...) come from the same tables
// the server validates against, so the document cannot offer a value the server refuses.
// A unit test checks that every route in HttpApi's HTTP_ROUTES appears here and nothing else.
import { POLICY_CHECKS } from './policyChecks.ts';
import { SUITES } from '../crypto/suites.ts';
import { ICE_MODES, REPLACE_OPTIONS, RTCP_MUX_OPTIONS, TRANSPORT_PROTOCOLS } from './ngRequest.ts';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });

const errorResponse = (description: string): Json => json(ref('Error'), description);

/** Responses every authenticated operation may give. */
const COMMON_ERRORS: Readonly<Record<string, Json>> = {
  401: errorResponse('Missing or invalid bearer token (E_UNAUTHORIZED).'),
  429: errorResponse('Request rate limit exceeded (E_RATE_LIMITED); see Retry-After.'),
  503: errorResponse('Shutting down (E_UNAVAILABLE), out of media ports (E_PORTS_EXHAUSTED) or at the session limit (E_SESSION_LIMIT).'),
};

const callIdParam: Json = {
  name: 'callId',
  in: 'path',
  required: true,
  description: 'SIP Call-ID (percent-encoded): printable ASCII without spaces, at most 512 characters.',
  schema: { type: 'string', minLength: 1, maxLength: 512 },
};

function sdpOperation(kind: 'offer' | 'answer'): Json {
  return {
    operationId: kind,
    summary: kind === 'offer'
      ? 'Relay an SDP offer: creates the call (or updates it on a re-offer) and returns the SDP to forward.'
      : 'Relay the SDP answer to an earlier offer and return the SDP to forward.',
    parameters: [callIdParam],
    requestBody: { required: true, content: { 'application/json': { schema: ref(kind === 'offer' ? 'OfferRequest' : 'AnswerRequest') } } },
    responses: {
      200: json(ref('SdpResult'), 'The rewritten SDP (it carries the relay\'s SRTP keys: handle it as a secret).'),
      400: errorResponse('Invalid body, SDP or crypto attribute (E_BAD_REQUEST, E_BAD_SDP, E_BAD_CRYPTO).'),
      409: errorResponse('The call is not in a state that accepts this (E_INVALID_STATE).'),
      413: errorResponse('Body larger than http.maxBodyBytes (E_PAYLOAD_TOO_LARGE).'),
      415: errorResponse('Content-Type is not application/json (E_UNSUPPORTED_MEDIA_TYPE).'),
      422: errorResponse('The policy and the SDP have no suite in common, or the SDP would weaken the call (E_NO_COMMON_SUITE, E_BID_DOWN).'),
      ...(kind === 'answer' ? { 404: errorResponse('No such call (E_NOT_FOUND).') } : {}),
      ...COMMON_ERRORS,
    },
  };
}

const sdpRequestProperties = (answer: boolean): Json => ({
  fromTag: { type: 'string', minLength: 1, maxLength: 512, description: 'Tag of the party that sent this SDP.' },
  ...(answer ? { toTag: { type: 'string', minLength: 1, maxLength: 512, description: 'Tag of the other party (the offerer).' } } : {}),
  sdp: { type: 'string', minLength: 1, maxLength: 65536, description: 'The SDP body as received (CRLF line ends kept).' },
  policy: ref('CryptoPolicy'),
  signalling: { type: 'string', enum: ['secure', 'insecure'], default: 'secure', description: 'How this SDP reached the SBE: insecure (no TLS) marks this party\'s leg, so SDES keys are neither accepted from nor sent to it when srtp.sdesOverInsecureSignalling is refuse (RFC 4568 §8.3).' },
  peerSignalling: { type: 'string', enum: ['secure', 'insecure'], default: 'secure', description: 'How the returned SDP leaves the SBE (the other party\'s leg), as for signalling.' },
  transportProtocol: { type: 'string', enum: [...TRANSPORT_PROTOCOLS], description: 'Transport to present to the other side.' },
  ice: { type: 'string', enum: [...ICE_MODES] },
  rtcpMux: { type: 'array', maxItems: 16, items: { type: 'string', enum: [...RTCP_MUX_OPTIONS] } },
  replace: { type: 'array', maxItems: 16, items: { type: 'string', enum: [...REPLACE_OPTIONS] } },
});

/** The document; `version` is the srtpgate version. */
export function openApiDocument(version: string): Json {
  const suites = SUITES.filter((s) => s.encrypts).map((s) => s.name as string);
  return {
    openapi: '3.1.0',
    info: {
      title: 'srtpgate HTTP API',
      version,
      description: 'Calls as resources for the srtpgate SRTP relay. The same operations as the ng (rtpengine) control protocol, with a typed crypto policy instead of flag strings. Every route but /healthz requires a bearer token when one is configured. Errors are {"error": {"code", "message"}}.',
    },
    security: [{ bearerAuth: [] }],
    paths: {
      '/v1/calls': {
        get: {
          operationId: 'listCalls',
          summary: 'Call-IDs of the calls in progress.',
          parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 999999 } }],
          responses: { 200: json(ref('CallList'), 'Call-IDs.'), 400: errorResponse('Bad limit.'), ...COMMON_ERRORS },
        },
      },
      '/v1/calls/{callId}': {
        get: {
          operationId: 'queryCall',
          summary: 'State and counters of one call (never its keys).',
          parameters: [callIdParam],
          responses: { 200: json(ref('CallInfo'), 'The call.'), 404: errorResponse('No such call (E_NOT_FOUND).'), ...COMMON_ERRORS },
        },
        delete: {
          operationId: 'deleteCall',
          summary: 'End a call (or one dialog of it, with tags): sockets closed, keys wiped.',
          parameters: [
            callIdParam,
            { name: 'fromTag', in: 'query', required: false, schema: { type: 'string', maxLength: 512 } },
            { name: 'toTag', in: 'query', required: false, schema: { type: 'string', maxLength: 512 } },
          ],
          responses: {
            200: json({ type: 'object', required: ['deleted'], properties: { deleted: { const: true } } }, 'Deleted.'),
            404: errorResponse('No such call, or the tags did not match (E_NOT_FOUND).'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/calls/{callId}/offer': { post: sdpOperation('offer') },
      '/v1/drain': {
        get: {
          operationId: 'getDrain',
          summary: 'Drain mode and admission state: refused new calls by reason, CPU over the window, open sessions per SBE.',
          responses: { 200: json(ref('Admission'), 'Admission state.'), 404: errorResponse('Admission control not enabled (E_NOT_FOUND).'), ...COMMON_ERRORS },
        },
        post: {
          operationId: 'setDrain',
          summary: 'Switch drain mode: while on, offers for new calls are refused (SBEs fail over to the next relay); calls in progress keep working.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } } } },
          },
          responses: { 200: json(ref('Admission'), 'The state after the switch.'), 400: errorResponse('Body is not {"enabled": boolean} (E_BAD_REQUEST).'), 404: errorResponse('Admission control not enabled (E_NOT_FOUND).'), ...COMMON_ERRORS },
        },
      },
      '/v1/ha/takeover': {
        post: {
          operationId: 'haTakeover',
          summary: 'Take every call of a failed peer relay over (its ports, keys and index floors from Redis); e.g. keepalived\'s notify script on moving the virtual address.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['node'], properties: { node: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } } } } },
          },
          responses: {
            200: json({ type: 'object', required: ['node', 'calls', 'failed', 'durationMs'], properties: { node: { type: 'string' }, calls: { type: 'integer' }, failed: { type: 'integer' }, durationMs: { type: 'number' } } }, 'Calls taken over and failed, and how long it took.'),
            400: errorResponse('Body is not {"node": "<node id>"} (E_BAD_REQUEST).'),
            404: errorResponse('Replication not enabled (E_NOT_FOUND).'),
            409: errorResponse('Not possible: own node id, replication not started (E_INVALID_STATE).'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/ha/release': {
        post: {
          operationId: 'haRelease',
          summary: 'Maintenance hand-over: drain, close every call\'s media sockets, write their final SRTP/SRTCP indexes to Redis and mark them released; the standby following this relay takes them at once. Calls whose state Redis did not acknowledge in time end.',
          responses: {
            200: json({ type: 'object', required: ['node', 'released', 'ended', 'durationMs'], properties: { node: { type: 'string' }, released: { type: 'integer' }, ended: { type: 'integer' }, durationMs: { type: 'number' } } }, 'Calls handed over and calls ended, and how long it took.'),
            404: errorResponse('Replication not enabled (E_NOT_FOUND).'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/calls/{callId}/answer': { post: sdpOperation('answer') },
      '/openapi.json': {
        get: { operationId: 'openapi', summary: 'This document.', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.1 document.'), 401: COMMON_ERRORS[401]! } },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus text exposition: sessions, packets in/out, drops by reason, authentication failures, control commands and errors by command.',
          responses: {
            200: { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: { type: 'string' } } } },
            401: COMMON_ERRORS[401]!,
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'healthz',
          summary: 'Liveness: 200 while serving, 503 while shutting down. No authentication.',
          security: [],
          responses: { 200: json(ref('Health'), 'Serving.'), 503: json(ref('Health'), 'Shutting down.') },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The token configured as http.token.' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string', description: 'Stable machine-readable code (E_...); tell errors apart by it, never by message.' },
                message: { type: 'string' },
              },
            },
          },
        },
        CryptoPolicy: {
          type: 'object',
          additionalProperties: false,
          description: 'What this leg may agree to. Omitted fields leave the relay\'s configured policy in force.',
          properties: {
            allowedSuites: { type: 'array', maxItems: 16, items: { type: 'string', enum: suites }, description: 'SDES suites allowed.' },
            minimumSuite: { type: 'string', enum: suites, description: 'Nothing weaker than this suite is agreed to.' },
            requireSrtp: { type: 'boolean', default: false, description: 'Refuse plain RTP: every active RTP section of this SDP, and the transport offered to the other party, must be SRTP (422 E_BID_DOWN otherwise). Adds to the relay\'s srtp.requireSrtp (an offer\'s covers both parties, an answer\'s the answering one).' },
            keyExchanges: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string', enum: ['sdes', 'dtls'] }, description: 'Key exchanges this call may use; narrows the relay\'s srtp.keyExchanges, never widens it. Without sdes, a=crypto is refused (422 E_BID_DOWN) and DTLS-SRTP is offered instead; without dtls, DTLS-SRTP offers are refused (422 E_NO_COMMON_SUITE).' },
            minFingerprintHash: { type: 'string', enum: ['sha-256', 'sha-384', 'sha-512'], description: 'Weakest a=fingerprint hash accepted from the peer, and the hash of the relay\'s own; raises the relay\'s srtp.minFingerprintHash, never lowers it. Only weaker fingerprints: 422 E_BID_DOWN.' },
            onViolation: {
              type: 'object',
              additionalProperties: false,
              description: 'Per offer/answer consistency check: refuse (422 with the check\'s code) or audit (the call goes on in the safest way still possible, with a warning and a policy-audit security event). Checks left out keep the relay\'s verdict.',
              properties: Object.fromEntries(POLICY_CHECKS.map((c) => [c, { type: 'string', enum: ['refuse', 'audit'] }])),
            },
          },
        },
        OfferRequest: { type: 'object', additionalProperties: false, required: ['fromTag', 'sdp'], properties: sdpRequestProperties(false) },
        AnswerRequest: { type: 'object', additionalProperties: false, required: ['fromTag', 'toTag', 'sdp'], properties: sdpRequestProperties(true) },
        SdpResult: {
          type: 'object',
          required: ['sdp', 'warnings'],
          properties: { sdp: { type: 'string' }, warnings: { type: 'array', items: { type: 'string' } } },
        },
        CallList: { type: 'object', required: ['calls'], properties: { calls: { type: 'array', items: { type: 'string' } } } },
        CallInfo: {
          type: 'object',
          description: 'created, last signal, tags (per party: media interface name and family (IPv4/IPv6), medias with local address, local port, remote endpoint, crypto suite and packet statistics), totals (RTP, RTCP).',
          additionalProperties: true,
        },
        Admission: {
          type: 'object',
          required: ['draining', 'refusals', 'sessionsBySbe'],
          properties: {
            draining: { type: 'boolean' },
            cpuPercent: { type: ['number', 'null'], description: 'Process CPU over control.cpuWindowMs, percent of one core.' },
            refusals: { type: 'object', additionalProperties: { type: 'integer' }, description: 'New calls refused, by reason (drain, sbe-sessions, cpu, load).' },
            sessionsBySbe: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Open sessions per SBE address that created them.' },
          },
        },
        Health: { type: 'object', required: ['status'], properties: { status: { enum: ['ok', 'stopping'] }, version: { type: 'string' } } },
      },
    },
  };
}
