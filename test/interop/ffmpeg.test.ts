// ffmpeg ↔ relay ↔ ffmpeg: a real, independent SRTP implementation (libavformat/srtp.c) at both
// far ends of a call set up with the embedding API. ffmpeg sends a generated 1000 Hz tone as
// PCMU over SRTP to leg A (the relay unprotects with ffmpeg's key); the relay re-encrypts for
// leg B with a fresh key, and a second ffmpeg, given that key in its SDP a=crypto line, decodes
// what arrives. The decoded audio must be the tone. ffmpeg's RTCP flows too: the sender's SRTCP
// sender report and BYE cross the relay (the BYE is what ends the receiver). The receiver is
// pointed back at leg B for its reports (-sdp_flags rtcp_to_source), but ffmpeg sends its first
// receiver report only after ~280 kB of media (rtpdec.c's RTCP_TX_RATIO arithmetic; ~35 s of
// PCMU), so in these 3 s calls none is due; were one sent, it would be plain RTCP (ffmpeg's SDP
// receiver has no SRTP sender) and leg B must refuse it. The 32-bit suite is run under both of
// ffmpeg's names, because they differ on the wire (see FFMPEG_SRTCP_TAG_BYTES). A last case gives
// the receiver a key the relay does not use: it must decode nothing, which shows it really
// authenticates what it gets.
// Loopback only; every ffmpeg is bounded by timeouts and killed in after(). Without ffmpeg the
// tests skip (install: apt-get install -y ffmpeg); with CI=true they fail instead.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Relay } from '../../src/session/Relay.ts';
import { linkStreams, type StreamCrypto } from '../../src/session/MediaStream.ts';
import type { MediaStreamHandle as MediaStream } from '../../src/session/MediaStreamHandle.ts';
import { suiteByName, type SuiteName } from '../../src/crypto/suites.ts';
import { skipOrFail } from './libsrtp.ts';
import {
  FFMPEG_HMAC_MISMATCH, FFMPEG_SRTCP_TAG_BYTES, ffmpegInfo, ffmpegSkipReason, freeUdpPortPair, killStartedFfmpeg, receiverSdp,
  startSrtpReceiver, startSrtpSender, waitUdpBound, type FfmpegResult, type FfmpegSuite,
} from './ffmpeg.ts';

const HOST = '127.0.0.1';
const RATE = 8000;
const TONE_HZ = 1000;
const SECONDS = 3;
const TONE_SAMPLES = RATE * SECONDS;
/** Samples the receiver may miss at the start (its stream set-up) and still count as the tone. */
const STARTUP_ALLOWANCE = RATE / 2;
/** Seconds of silence after which the receiver gives up (only the wrong-key case waits for it). */
const LISTEN_TIMEOUT_S = 3;
const CASE_TIMEOUT = 60_000;

let relay: Relay | null = null;
let workDir = '';
let callNo = 0;

before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'srtpgate-ffmpeg-'));
  // Ports of its own, clear of the e2e tests' range; receivers take theirs from 43500 up.
  relay = await Relay.create({ ports: { min: 43000, max: 43499 }, mediaTimeout: 60 });
});

after(async () => {
  await killStartedFfmpeg();
  await relay?.close();
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

// ----------------------------------------------------------------- audio

/** Decoded s16le mono PCM as floats in [-1, 1). */
function pcmSamples(raw: Buffer): Float64Array {
  const n = Math.floor(raw.length / 2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = raw.readInt16LE(2 * i) / 32768;
  return out;
}

/** |X(f)|² of x by the Goertzel recurrence (one DFT bin at any frequency). */
function goertzelPower(x: Float64Array, freq: number, rate: number): number {
  const w = 2 * Math.PI * freq / rate;
  const k = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s0 = v + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/**
 * The strongest frequency in x (10 Hz grid from 100 Hz to Nyquist − 100, then 1 Hz around the
 * best), and the share of x's energy in it: a pure sinusoid gives ~1, noise gives ~0.
 */
function dominantTone(x: Float64Array, rate: number): { freq: number; share: number } {
  let best = 0;
  let bestPower = -1;
  const scan = (from: number, to: number, step: number): void => {
    for (let f = from; f <= to; f += step) {
      const p = goertzelPower(x, f, rate);
      if (p > bestPower) { bestPower = p; best = f; }
    }
  };
  scan(100, rate / 2 - 100, 10);
  scan(best - 10, best + 10, 1);
  let energy = 0;
  for (const v of x) energy += v * v;
  // For A·cos over N samples: |X|² ≈ A²N²/4 and Σx² ≈ A²N/2, so 2|X|²/(N·Σx²) ≈ 1.
  const share = energy === 0 ? 0 : (2 * bestPower) / (x.length * energy);
  return { freq: best, share };
}

// ----------------------------------------------------------------- calls

function freshKeys(suite: SuiteName): { masterKey: Uint8Array; masterSalt: Uint8Array } {
  const s = suiteByName(suite);
  if (s === undefined) throw new Error(`srtpgate does not know ${suite}`);
  return { masterKey: new Uint8Array(randomBytes(s.keyLen)), masterSalt: new Uint8Array(randomBytes(s.saltLen)) };
}

/** A StreamCrypto with its own copies of the key (the relay must not share arrays with the test). */
function crypto(suite: SuiteName, k: { masterKey: Uint8Array; masterSalt: Uint8Array }): StreamCrypto {
  return { suite, masterKey: k.masterKey.slice(), masterSalt: k.masterSalt.slice() };
}

interface CallResult {
  readonly sender: FfmpegResult;
  readonly receiver: FfmpegResult;
  readonly a: MediaStream;
  readonly b: MediaStream;
  readonly receiverPort: number;
}

/**
 * Sets up leg A (ffmpeg sender's SRTP in) and leg B (re-encrypted SRTP out to the ffmpeg
 * receiver), starts the receiver, waits until it listens, then runs the sender to the end.
 */
async function ffmpegCall(t: TestContext, suite: SuiteName, ffmpegSuite: FfmpegSuite, receiverKeyMatches: boolean): Promise<CallResult> {
  if (relay === null) throw new Error('relay not created');
  const senderKey = freshKeys(suite);
  const relayToB = freshKeys(suite);
  // The receiver's SDP carries the key it decrypts with: the relay's B-side key, or not.
  const receiverKey = receiverKeyMatches ? relayToB : freshKeys(suite);

  const session = relay.createSession(`ffmpeg-${++callNo}`);
  t.after(() => session.close());
  const a = await session.addStream(session.createLeg('caller'), { rtcpMux: false });
  const b = await session.addStream(session.createLeg('callee'), { rtcpMux: false });
  linkStreams(a, b);
  a.setInboundCrypto(crypto(suite, senderKey));
  // Toward the sender: nothing authentic comes that way (see the RTCP note below), but the leg
  // is SRTP, so it has its own key like any re-keyed leg would.
  a.setOutboundCrypto(crypto(suite, freshKeys(suite)));
  b.setOutboundCrypto(crypto(suite, relayToB));
  // What the receiver would send with, had it an SRTP sender (ffmpeg's SDP receiver has none).
  b.setInboundCrypto(crypto(suite, freshKeys(suite)));

  const receiverPort = await freeUdpPortPair(HOST, 43500, 43998);
  b.setRemote({ address: HOST, port: receiverPort }, { address: HOST, port: receiverPort + 1 });
  const sdpPath = join(workDir, `recv-${callNo}.sdp`);
  writeFileSync(sdpPath, receiverSdp({ suite: ffmpegSuite, ...receiverKey, port: receiverPort, connectionAddress: HOST }));

  const receiver = await startSrtpReceiver({
    sdpPath, localAddress: HOST, listenTimeoutS: LISTEN_TIMEOUT_S, hardTimeoutMs: SECONDS * 1000 + 25_000,
  });
  t.after(() => receiver.stop());
  if (!await waitUdpBound(HOST, [receiverPort, receiverPort + 1], 10_000)) {
    const r = await receiver.stop();
    assert.fail(`the ffmpeg receiver did not bind ${HOST}:${receiverPort}/${receiverPort + 1}: ${r.stderr.slice(-1500)}`);
  }
  const sender = await startSrtpSender({
    suite: ffmpegSuite, ...senderKey, ssrc: 0x5eed0000 + callNo, host: HOST, port: a.rtpPort.port, frequency: TONE_HZ, seconds: SECONDS,
  });
  t.after(() => sender.stop());
  const sent = await sender.done;
  const received = await receiver.done;
  // Counters of streams in media workers are mirrored: fetch them before anyone reads them.
  await relay.syncStats();
  return { sender: sent, receiver: received, a, b, receiverPort };
}

function describeRun(name: string, r: FfmpegResult): string {
  return `${name}: exit ${String(r.code)}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ', killed by the hard timeout' : ''}; ` +
    `stderr tail:\n${r.stderr.slice(-1200)}`;
}

async function ffmpegOrSkip(t: TestContext): Promise<boolean> {
  if (await ffmpegInfo() === null) {
    skipOrFail(t, ffmpegSkipReason());
    return false;
  }
  return true;
}

// ----------------------------------------------------------------- cases

/** Decoded audio is the tone: ≈ SECONDS long (less start-up), 1000 Hz ± 20, nearly all its energy there. */
function assertTone(r: FfmpegResult): void {
  const samples = pcmSamples(r.stdout);
  assert.ok(samples.length >= TONE_SAMPLES - STARTUP_ALLOWANCE && samples.length <= TONE_SAMPLES + 160,
    `decoded ${samples.length} samples, expected ${TONE_SAMPLES - STARTUP_ALLOWANCE}..${TONE_SAMPLES + 160}`);
  // One second from the middle: clear of start-up and of the end.
  const half = Math.floor(samples.length / 2);
  const tone = dominantTone(samples.subarray(half - RATE / 2, half + RATE / 2), RATE);
  assert.ok(Math.abs(tone.freq - TONE_HZ) <= 20, `dominant frequency ${tone.freq} Hz, expected ${TONE_HZ} ± 20`);
  assert.ok(tone.share >= 0.9, `only ${(tone.share * 100).toFixed(1)}% of the energy is at ${tone.freq} Hz: not a clean tone`);
  const whole = dominantTone(samples, RATE);
  assert.ok(Math.abs(whole.freq - TONE_HZ) <= 20 && whole.share >= 0.8,
    `whole recording: ${whole.freq} Hz with ${(whole.share * 100).toFixed(1)}% of the energy`);
}

/** Nothing from the receiver may be accepted on leg B (ffmpeg would send its RTCP in clear) or reach the caller. */
function assertReceiverRtcpRefused(t: TestContext, c: CallResult): void {
  assert.equal(c.b.stats.packetsIn, 0, `leg B accepted something from the receiver: ${JSON.stringify(c.b.stats.toJSON())}`);
  assert.equal(c.a.stats.packetsOut, 0, 'nothing may reach the caller from the callee');
  if (c.b.stats.totalDrops > 0) {
    t.diagnostic(`leg B: ${c.b.stats.totalDrops} packet(s) from the ffmpeg receiver refused (${JSON.stringify(c.b.stats.drops)})`);
  }
}

const RTP_PACKETS = TONE_SAMPLES / 160;

describe('ffmpeg ↔ relay ↔ ffmpeg (SRTP, re-keyed per leg)', () => {
  // The 32-bit suite runs under ffmpeg's RFC 5764 name, where its SRTCP tag is the standard 80
  // bits; the SDES spelling is the separate case below.
  const conforming: readonly { suite: SuiteName; ffmpeg: FfmpegSuite }[] = [
    { suite: 'AES_CM_128_HMAC_SHA1_80', ffmpeg: 'AES_CM_128_HMAC_SHA1_80' },
    { suite: 'AES_CM_128_HMAC_SHA1_32', ffmpeg: 'SRTP_AES128_CM_HMAC_SHA1_32' },
  ];
  for (const { suite, ffmpeg } of conforming) {
    it(`${suite} (ffmpeg: ${ffmpeg}): ffmpeg's SRTP tone crosses the relay and a second ffmpeg decodes ${TONE_HZ} Hz`, { timeout: CASE_TIMEOUT }, async (t) => {
      if (!await ffmpegOrSkip(t)) return;
      const c = await ffmpegCall(t, suite, ffmpeg, true);
      assert.equal(c.sender.code, 0, describeRun('ffmpeg sender', c.sender));
      assert.ok(!c.receiver.timedOut && c.receiver.code === 0, describeRun('ffmpeg receiver', c.receiver));

      // The relay: every packet from ffmpeg authenticated (RTP and SRTCP), all went on to B.
      const aIn = c.a.stats;
      assert.equal(aIn.drops.auth, 0, `leg A auth failures: ${JSON.stringify(aIn.toJSON())}`);
      assert.equal(aIn.totalDrops, 0, `leg A drops: ${JSON.stringify(aIn.drops)}`);
      assert.ok(aIn.packetsIn - aIn.rtcpIn >= RTP_PACKETS, `leg A accepted ${aIn.packetsIn - aIn.rtcpIn} RTP packets, expected ≥ ${RTP_PACKETS}`);
      assert.ok(aIn.rtcpIn >= 2, `leg A: ${aIn.rtcpIn} SRTCP packets from ffmpeg, expected its sender report and BYE`);
      assert.equal(c.b.stats.packetsOut, aIn.packetsIn, 'everything leg A accepted went out on leg B');
      assertReceiverRtcpRefused(t, c);

      // The receiver authenticated everything (the relayed SRTCP too: the BYE ended it) and decoded the tone.
      assert.equal(c.receiver.counts.get(FFMPEG_HMAC_MISMATCH.source), 0, describeRun('ffmpeg receiver rejected packets', c.receiver));
      assertTone(c.receiver);
    });
  }

  it(`AES_CM_128_HMAC_SHA1_32 (ffmpeg: SDES name): RTP crosses and decodes; ffmpeg's ${FFMPEG_SRTCP_TAG_BYTES.AES_CM_128_HMAC_SHA1_32}-byte SRTCP tags are dropped, counted, not forwarded`, { timeout: CASE_TIMEOUT }, async (t) => {
    if (!await ffmpegOrSkip(t)) return;
    const c = await ffmpegCall(t, 'AES_CM_128_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_32', true);
    assert.equal(c.sender.code, 0, describeRun('ffmpeg sender', c.sender));
    // No BYE gets through, so the receiver ends by its listen timeout, not by our hard one.
    assert.ok(!c.receiver.timedOut, describeRun('ffmpeg receiver', c.receiver));
    const aIn = c.a.stats;
    assert.equal(aIn.rtcpIn, 0, 'an SRTCP packet with a 32-bit tag was accepted under an 80-bit SRTCP policy');
    assert.ok(aIn.packetsIn >= RTP_PACKETS, `leg A accepted ${aIn.packetsIn} RTP packets, expected ≥ ${RTP_PACKETS}`);
    // Only ffmpeg's SRTCP (a sender report and a BYE in 3 s) may have been refused; read with an
    // 80-bit tag, its trailer's E flag is whatever byte lands there: auth failure or "unencrypted".
    const refused = aIn.drops.auth + aIn.drops.policy;
    assert.ok(refused >= 1 && refused <= 3 && aIn.totalDrops === refused, `leg A drops: ${JSON.stringify(aIn.drops)}`);
    assert.equal(c.b.stats.packetsOut, aIn.packetsIn, 'every RTP packet went on to B, and no SRTCP');
    assertReceiverRtcpRefused(t, c);
    assert.equal(c.receiver.counts.get(FFMPEG_HMAC_MISMATCH.source), 0, describeRun('ffmpeg receiver rejected packets', c.receiver));
    assertTone(c.receiver);
    t.diagnostic(`ffmpeg's SRTCP under AES_CM_128_HMAC_SHA1_32 carries a ${FFMPEG_SRTCP_TAG_BYTES.AES_CM_128_HMAC_SHA1_32}-byte tag; ` +
      `srtpgate (like libsrtp2) expects 10: ${refused} SRTCP packet(s) refused (${JSON.stringify(aIn.drops)})`);
  });

  it('AES_CM_128_HMAC_SHA1_80: a receiver whose SDP key is not the relay\'s B-side key decodes nothing', { timeout: CASE_TIMEOUT }, async (t) => {
    if (!await ffmpegOrSkip(t)) return;
    const c = await ffmpegCall(t, 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80', false);
    assert.equal(c.sender.code, 0, describeRun('ffmpeg sender', c.sender));
    assert.ok(!c.receiver.timedOut, describeRun('ffmpeg receiver (should end by its listen timeout)', c.receiver));
    // The relay's side was fine: it is the receiver that must refuse.
    assert.equal(c.a.stats.totalDrops, 0, `leg A drops: ${JSON.stringify(c.a.stats.toJSON())}`);
    assert.ok(c.b.stats.packetsOut >= RTP_PACKETS, `leg B sent ${c.b.stats.packetsOut} packets`);
    assert.equal(c.receiver.stdout.length, 0, `the receiver decoded ${c.receiver.stdout.length / 2} samples under the wrong key`);
    const rejected = c.receiver.counts.get(FFMPEG_HMAC_MISMATCH.source) ?? 0;
    assert.ok(rejected >= RTP_PACKETS,
      `the receiver logged ${rejected} HMAC mismatches for ${c.b.stats.packetsOut} packets: did it check them? ${describeRun('receiver', c.receiver)}`);
  });
});
