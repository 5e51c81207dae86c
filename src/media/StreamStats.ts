// Per-stream counters: plain number fields, bumped on the data path, read by the control API.
import { Status } from '../crypto/abi.ts';

export type DropReason =
  | 'auth' | 'replay' | 'malformed' | 'wrongSource' | 'rateLimited' | 'noKeys'
  | 'notRtp' | 'noDestination' | 'backlog' | 'tooLarge' | 'protectFailed' | 'keyExpired' | 'ssrcLimit' | 'policy';

export const DROP_REASONS: readonly DropReason[] = [
  'auth', 'replay', 'malformed', 'wrongSource', 'rateLimited', 'noKeys', 'notRtp',
  'noDestination', 'backlog', 'tooLarge', 'protectFailed', 'keyExpired', 'ssrcLimit', 'policy',
];

export class StreamStats {
  packetsIn = 0;
  bytesIn = 0;
  packetsOut = 0;
  bytesOut = 0;
  rtcpIn = 0;
  drops: Record<DropReason, number> = {
    auth: 0, replay: 0, malformed: 0, wrongSource: 0, rateLimited: 0, noKeys: 0, notRtp: 0,
    noDestination: 0, backlog: 0, tooLarge: 0, protectFailed: 0, keyExpired: 0, ssrcLimit: 0, policy: 0,
  };
  /** Relay clock (ms) of the last packet received, 0 if none. */
  lastPacketAt = 0;

  /** Counts an unprotect failure under its reason. */
  dropStatus(status: number): void {
    this.drops[reasonOf(status)]++;
  }

  get totalDrops(): number {
    let n = 0;
    for (const r of DROP_REASONS) n += this.drops[r];
    return n;
  }

  toJSON(): object {
    return { packetsIn: this.packetsIn, bytesIn: this.bytesIn, packetsOut: this.packetsOut, bytesOut: this.bytesOut,
      rtcpIn: this.rtcpIn, drops: { ...this.drops }, lastPacketAt: this.lastPacketAt };
  }
}

export function reasonOf(status: number): DropReason {
  switch (status) {
    case Status.AUTH_FAIL: return 'auth';
    case Status.REPLAY_DUPLICATE:
    case Status.REPLAY_OLD: return 'replay';
    case Status.KEY_EXPIRED: return 'keyExpired';
    case Status.SSRC_TABLE_FULL: return 'ssrcLimit';
    case Status.UNENCRYPTED_SRTCP: return 'policy';
    default: return 'malformed';
  }
}
