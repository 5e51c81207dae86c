// Any relay that speaks ng (rtpengine today, srtpgate's control server later) as a
// RelayUnderTest: one offer/answer per call as Kamailio would send them, SDP with SDES
// a=crypto, and the relay's ports and leg-B key read back from the SDP it returns.
import { NgClient, type NgDict } from './ngClient.ts';
import { buildSdp, parseSdp } from './sdp.ts';
import { processCpu } from './procStat.ts';
import type { CallPlan, CallSetup, CpuTimes, RelayUnderTest } from './types.ts';

export interface NgRelayOptions {
  name: string;
  version: string;
  client: NgClient;
  /** The relay's process, for its CPU time. */
  pid: number;
  /** Stops the relay process (called by close()). */
  stop(): Promise<void>;
  /** Calls set up at once; rtpengine answers each in well under a millisecond. */
  parallel?: number;
}

// Kamailio's usual flags for a relay in the media path (REFERENCE §3): rewrite c=/o=, drop
// ICE, no DTLS on either leg so SDES is what gets negotiated.
const COMMON: NgDict = {
  replace: ['origin', 'session-connection'],
  ICE: 'remove',
  DTLS: 'off',
  'received-from': ['IP4', '127.0.0.1'],
  supports: ['load limit'],
};

export class NgRelay implements RelayUnderTest {
  readonly name: string;
  readonly version: string;
  /** Suites the relay offered toward B on the last setup, in its order (for the report). */
  offeredSuites: string[] = [];
  readonly #o: NgRelayOptions;
  #sessionId = 1000;

  constructor(o: NgRelayOptions) {
    this.#o = o;
    this.name = o.name;
    this.version = o.version;
  }

  get pid(): number { return this.#o.pid; }

  async setupCalls(calls: readonly CallPlan[]): Promise<CallSetup[]> {
    const out: CallSetup[] = new Array<CallSetup>(calls.length);
    const parallel = this.#o.parallel ?? 10;
    for (let i = 0; i < calls.length; i += parallel) {
      const slice = calls.slice(i, i + parallel);
      const done = await Promise.all(slice.map((c) => this.#setupOne(c)));
      done.forEach((s, k) => { out[i + k] = s; });
    }
    return out;
  }

  async #setupOne(plan: CallPlan): Promise<CallSetup> {
    const ng = this.#o.client;
    const fromTag = `${plan.callId}-a`;
    const toTag = `${plan.callId}-b`;
    const offer = await ng.request('offer', {
      ...COMMON,
      'call-id': plan.callId,
      'from-tag': fromTag,
      'transport-protocol': plan.receiverKey ? 'RTP/SAVP' : 'RTP/AVP',
      sdp: buildSdp({ media: plan.sender, key: plan.senderKey, sessionId: ++this.#sessionId }),
    });
    const toB = parseSdp(sdpOf(offer, 'offer'));
    this.offeredSuites = toB.cryptos.map((c) => c.suite);
    let outKey = null;
    let tag = 1;
    if (plan.receiverKey) {
      const want = plan.receiverKey.suite;
      const line = toB.cryptos.find((c) => c.suite === want && c.key !== null);
      if (!line?.key) throw new Error(`${this.name} offered no usable ${want} toward B (offered: ${this.offeredSuites.join(' ') || 'none'})`);
      outKey = line.key;
      tag = line.tag;
    } else if (toB.cryptos.length > 0 || toB.proto !== 'RTP/AVP') {
      throw new Error(`${this.name} offered ${toB.proto} with ${toB.cryptos.length} crypto lines toward a plain RTP leg`);
    }
    const answer = await ng.request('answer', {
      ...COMMON,
      'call-id': plan.callId,
      'from-tag': fromTag,
      'to-tag': toTag,
      sdp: buildSdp({ media: plan.receiver, key: plan.receiverKey, cryptoTag: tag, sessionId: ++this.#sessionId }),
    });
    const toA = parseSdp(sdpOf(answer, 'answer'));
    if (toA.proto !== 'RTP/SAVP' || toA.cryptos.length !== 1) {
      throw new Error(`${this.name} answered A with ${toA.proto} and ${toA.cryptos.length} crypto lines`);
    }
    return { relayA: toA.media, relayB: toB.media, outKey };
  }

  async teardownCalls(calls: readonly CallPlan[]): Promise<void> {
    const parallel = this.#o.parallel ?? 10;
    for (let i = 0; i < calls.length; i += parallel) {
      await Promise.all(calls.slice(i, i + parallel).map((c) => this.#o.client.request('delete', { 'call-id': c.callId }).catch(() => null)));
    }
  }

  cpu(): Promise<CpuTimes> {
    const t = processCpu(this.#o.pid);
    return t ? Promise.resolve(t) : Promise.reject(new Error(`${this.name} (pid ${this.#o.pid}) is gone`));
  }

  /**
   * Per-leg packet and error counts from `query`: packets the relay received from A, and
   * its error counter (failed authentication among others).
   */
  async diagnostics(calls: readonly CallPlan[]): Promise<Record<string, number>> {
    const sum: Record<string, number> = { 'fromA.packets': 0, 'fromA.errors': 0, 'fromB.packets': 0, 'fromB.errors': 0 };
    for (const c of calls) {
      const q = await this.#o.client.request('query', { 'call-id': c.callId });
      const tags = q.tags;
      if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) continue;
      for (const [tag, leg] of Object.entries(tags)) {
        const side = tag.endsWith('-a') ? 'fromA' : 'fromB';
        for (const s of streamsOf(leg)) {
          sum[`${side}.packets`]! += s.packets;
          sum[`${side}.errors`]! += s.errors;
        }
      }
    }
    return sum;
  }

  async close(): Promise<void> {
    this.#o.client.close();
    await this.#o.stop();
  }
}

function sdpOf(reply: NgDict, what: string): string {
  if (typeof reply.sdp !== 'string') throw new Error(`ng ${what}: reply without SDP`);
  return reply.sdp;
}

/** Walks `medias[].streams[].stats` of one tag in a query reply, tolerating missing parts. */
function streamsOf(leg: unknown): { packets: number; errors: number }[] {
  const out: { packets: number; errors: number }[] = [];
  const medias = field(leg, 'medias');
  if (!Array.isArray(medias)) return out;
  for (const m of medias) {
    const streams = field(m, 'streams');
    if (!Array.isArray(streams)) continue;
    for (const s of streams) {
      const st = field(s, 'stats');
      const packets = field(st, 'packets');
      const errors = field(st, 'errors');
      out.push({ packets: typeof packets === 'number' ? packets : 0, errors: typeof errors === 'number' ? errors : 0 });
    }
  }
  return out;
}

function field(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
}
