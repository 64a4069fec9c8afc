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

/**
 * The time process `pid`'s threads spent on a CPU, in seconds, as the scheduler counts it (the first field of
 * /proc/<pid>/task/<tid>/schedstat, nanoseconds; proc(5)). utime + stime come from sampling at each timer tick,
 * which could charge a process that runs briefly at each wake-up more or less than it ran; this count cannot.
 * Threads that ended since an earlier reading are missing from a later one.
 */
export function schedCpuSecondsOf(pid: number): number {
  let ns = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e9;
}

/** Resident set size of process `pid` in bytes (VmRSS); NaN when /proc does not say. */
export function rssBytesOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
