// CPU accounting from /proc: a process's own time (all its threads), and the machine's busy
// time, so a trial can say how much of the two shared cores went to someone else.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond = 0;

function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // Linux's USER_HZ everywhere the bench runs
    }
  }
  return ticksPerSecond;
}

/** user and system CPU seconds of `pid`, or null when it is gone. Resolution: one tick (10 ms). */
export function processCpu(pid: number): { user: number; system: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const hz = clockTicks();
  return { user: Number(fields[11]) / hz, system: Number(fields[12]) / hz };
}

export interface MachineCpu {
  /** Seconds of CPU time spent busy, summed over all cores. */
  busy: number;
  /** Seconds of CPU time in all states, summed over all cores. */
  total: number;
  /** Seconds stolen by the hypervisor (a VM sharing its host). */
  steal: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const hz = clockTicks();
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / hz, total: total / hz, steal: (v[7] ?? 0) / hz };
}
