/**
 * What the benches read of a process and of the machine from Linux's /proc (proc(5)): the load average, and
 * a process's CPU time and resident memory.
 */
import fs from 'node:fs';

/** The 1, 5 and 15 minute load averages as /proc/loadavg prints them: "0.52 0.61 0.70". */
export function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** utime + stime of process `pid`, all threads, in seconds (USER_HZ is 100 on Linux). */
export function cpuSecondsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Resident set size of process `pid` in bytes (VmRSS); NaN when /proc does not say. */
export function rssBytesOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
