// Priority for the bench's processes against unrelated work on a shared machine.
//
// With sched_autogroup on (Debian's default), CFS first shares the CPU between autogroups
// (one per session) and only then between the tasks of a group, so `nice` on our own
// processes changes nothing against another engineer's build in another session. The
// lever is the group's own nice value in /proc/self/autogroup, which every process the
// bench starts (generator, srtpgate, rtpengine) shares. Without autogroups, each child is
// started under `nice -n N` instead (Linux nice is per thread, and threads inherit it).
import { readFileSync, writeFileSync } from 'node:fs';

export interface Priority {
  /** How it was applied, for the results file. */
  mechanism: 'none' | 'autogroup' | 'per-process';
  value: number;
  /** nice value to start each child with (0 when the autogroup carries it). */
  childNice: number;
  /** Puts the autogroup's previous value back. */
  restore(): void;
}

function autogroupNice(): number | null {
  try {
    if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() !== '1') return null;
    const m = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function applyPriority(nice: number): Priority {
  if (nice === 0) return { mechanism: 'none', value: 0, childNice: 0, restore: () => {} };
  const before = autogroupNice();
  if (before !== null) {
    writeFileSync('/proc/self/autogroup', String(nice));
    return { mechanism: 'autogroup', value: nice, childNice: 0, restore: () => { try { writeFileSync('/proc/self/autogroup', String(before)); } catch { /* group gone */ } } };
  }
  return { mechanism: 'per-process', value: nice, childNice: nice, restore: () => {} };
}

/** `cmd args` under `nice -n N` when N is not 0. */
export function niced(cmd: string, args: readonly string[], nice: number): [string, string[]] {
  return nice === 0 ? [cmd, [...args]] : ['nice', ['-n', String(nice), cmd, ...args]];
}
