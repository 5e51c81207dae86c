// The line protocol between the bench and bench/relay/srtpgateServer.ts: one JSON object per
// line each way, replies in request order. Call setup carries the same CallPlan / CallSetup
// an ng relay gets, so when srtpgate's ng server exists the bench swaps this child for an
// NgRelay (bench/relay/ngRelay.ts) and nothing else changes.
import type { CallPlan, CallSetup } from './types.ts';

export type ServerRequest =
  | { op: 'setup'; calls: CallPlan[] }
  | { op: 'teardown'; callIds: string[] }
  | { op: 'cpu' }
  | { op: 'stats' }
  | { op: 'quit' };

export type ServerReply =
  | { ok: true; op: 'ready'; version: string; core: string; io: string; ports: { min: number; max: number } }
  | { ok: true; op: 'setup'; calls: CallSetup[] }
  | { ok: true; op: 'teardown' }
  | { ok: true; op: 'cpu'; user: number; system: number }
  | { ok: true; op: 'stats'; stats: Record<string, number> }
  | { ok: true; op: 'quit' }
  | { ok: false; error: string };
