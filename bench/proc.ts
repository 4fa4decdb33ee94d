// /proc sampling of processes the bench did not time with GNU time (seeders, daemons): CPU
// seconds, current and peak RSS, and a memory series over time.
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ for /proc/PID/stat on every mainstream Linux

export interface ProcSample {
  /** user + system CPU seconds of the whole process (all threads). */
  cpuSec: number;
  rssKb: number;
  /** VmHWM: the peak RSS so far. */
  hwmKb: number;
}

export function procSample(pid: number): ProcSample | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    const rss = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return { cpuSec: (Number(f[11]) + Number(f[12])) / CLK_TCK, hwmKb: hwm ? Number(hwm[1]) : NaN, rssKb: rss ? Number(rss[1]) : NaN };
  } catch {
    return undefined;
  }
}

/**
 * Samples one process every `intervalMs`: keeps the latest sample (a late one is still right
 * for peak RSS, a high-water mark) and an RSS series [seconds since start, MB].
 */
export class ProcWatch {
  last: ProcSample | undefined;
  readonly rss: [number, number][] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(
    private readonly pid: () => number | undefined,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.sample();
  }

  sample(): ProcSample | undefined {
    const pid = this.pid();
    const s = pid === undefined ? undefined : procSample(pid);
    if (s) {
      this.last = s;
      this.rss.push([(Date.now() - this.t0) / 1000, s.rssKb / 1024]);
    }
    return s;
  }

  stop(): ProcSample | undefined {
    clearInterval(this.timer);
    return this.sample() ?? this.last;
  }
}
