// Runs a program to completion and measures it: wall time, CPU seconds and peak RSS.
// GNU time (`time -f`) gives exact rusage numbers when it is installed; otherwise /proc is
// polled (VmHWM is a high-water mark, so a late sample is still close to the peak).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  wallSec: number;
  /** user + system CPU seconds of the program (NaN when unknown). */
  cpuSec: number;
  /** Peak resident set size in KiB (NaN when unknown). */
  peakRssKb: number;
  /** Where cpu and RSS came from. */
  source: 'gnu-time' | 'proc';
  stdout: string;
  stderr: string;
}

/** GNU time, if installed (Debian package `time`); not the shell keyword. */
export function findGnuTime(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, 'time');
    if (existsSync(p)) return p;
  }
  return undefined;
}

const CLK_TCK = 100; // Linux USER_HZ for /proc/PID/stat on every mainstream architecture

function sampleProc(pid: number): { cpuSec: number; hwmKb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return { cpuSec: (utime + stime) / CLK_TCK, hwmKb: m ? Number(m[1]) : NaN };
  } catch {
    return undefined;
  }
}

const TAIL = 256 * 1024;

/** The first child of `pid` (GNU time's one child is the measured program), if /proc shows it yet. */
export function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

export async function runMeasured(opts: {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Use /proc polling even when GNU time exists. */
  noGnuTime?: boolean;
  /**
   * Called once spawned. `wrapped`: the pid is GNU time's, and the measured program is its
   * child (see firstChild).
   */
  onSpawn?: (info: { pid: number; wrapped: boolean }) => void;
}): Promise<MeasuredRun> {
  const gnuTime = opts.noGnuTime ? undefined : findGnuTime();
  const tmp = gnuTime ? await mkdtemp(path.join(tmpdir(), 'pytor-measure-')) : undefined;
  const timeOut = tmp ? path.join(tmp, 'time.txt') : '';
  const [cmd, args] = gnuTime ? [gnuTime, ['-f', '%U %S %M', '-o', timeOut, opts.cmd, ...opts.args]] : [opts.cmd, opts.args];
  const start = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    if (stdout.length > TAIL) stdout = stdout.slice(-TAIL);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
    if (stderr.length > TAIL) stderr = stderr.slice(-TAIL);
  });
  if (opts.onSpawn && child.pid !== undefined) opts.onSpawn({ pid: child.pid, wrapped: gnuTime !== undefined });
  let timedOut = false;
  let last: { cpuSec: number; hwmKb: number } | undefined;
  // With GNU time the measured program is its child; /proc sampling is then only a fallback.
  const poll = gnuTime
    ? undefined
    : setInterval(() => {
        if (child.pid) last = sampleProc(child.pid) ?? last;
      }, 50);
  const kill = setTimeout(() => {
    timedOut = true;
    if (child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, opts.timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      stderr += `\n[spawn error] ${err.message}`;
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  });
  const wallSec = Number(process.hrtime.bigint() - start) / 1e9;
  clearTimeout(kill);
  if (poll) clearInterval(poll);
  let cpuSec = NaN;
  let peakRssKb = NaN;
  if (tmp) {
    try {
      const lines = (await readFile(timeOut, 'utf8')).trim().split('\n');
      // GNU time puts "Command exited with non-zero status N" before the format line.
      const parts = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(Number);
      if (parts.length === 3 && parts.every((n) => Number.isFinite(n))) {
        cpuSec = (parts[0] ?? NaN) + (parts[1] ?? NaN);
        peakRssKb = parts[2] ?? NaN;
      }
    } catch {
      /* killed before time wrote its file */
    }
    await rm(tmp, { recursive: true, force: true });
  } else if (last) {
    cpuSec = last.cpuSec;
    peakRssKb = last.hwmKb;
  }
  return { code, signal, timedOut, wallSec, cpuSec, peakRssKb, source: gnuTime ? 'gnu-time' : 'proc', stdout, stderr };
}
