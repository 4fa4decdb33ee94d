// Spawns helper programs (trackers, clients) for tests. Each child runs in its own process
// group so stop() can kill it together with anything it started; stop() resolves only once
// the child has exited, so no test leaves a zombie or a listening socket behind.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface SpawnOptions {
  /** Short name used in error messages, e.g. 'opentracker'. */
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve start once a stdout or stderr line matches. */
  readyLine?: RegExp;
  /** Resolve start once a TCP connect to 127.0.0.1:readyPort succeeds. */
  readyPort?: number;
  /** How long to wait for readiness (default 20 s). */
  readyTimeoutMs?: number;
  /** Kill the child after this long no matter what (default 10 min). */
  hardTimeoutMs?: number;
  /** Keep stdin open as a pipe (e.g. for a command channel); default: ignored. */
  stdinPipe?: boolean;
  /** Called for every complete stdout line. */
  onStdoutLine?: (line: string) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the child has exited (for whatever reason). */
  readonly exited: Promise<ExitInfo>;
  /** True once the child has exited. */
  hasExited(): boolean;
  /** The last ~64 KiB of stderr and stdout, for diagnostics. */
  output(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 3 s); resolves after exit. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

const TAIL = 64 * 1024;
const live = new Set<ManagedProcess>();

// Last resort when a test crashes without calling stop(): kill every group we started.
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) killGroup(p.pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Resolves true once 127.0.0.1:port accepts a TCP connection. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Polls `check` every `intervalMs` until true, at most `timeoutMs`; false on timeout. */
export async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < maxTries; i++) {
    if (await check()) return true;
    if (Date.now() >= deadline) break;
    await delay(intervalMs);
  }
  return false;
}

/** Starts a program and waits until it is ready (by line or by port), or throws with its output. */
export async function spawnManaged(opts: SpawnOptions): Promise<ManagedProcess> {
  installExitHook();
  const child = spawn(opts.cmd, opts.args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so the whole tree can be killed at once
  });
  let tail = '';
  const addTail = (s: string) => {
    tail += s;
    if (tail.length > TAIL) tail = tail.slice(tail.length - TAIL);
  };
  let exitInfo: ExitInfo | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      addTail(`\n[spawn error] ${err.message}\n`);
      // 'close' may never come for a child that never started.
      if (child.pid === undefined) {
        exitInfo = { code: null, signal: null };
        resolve(exitInfo);
      }
    });
    child.once('close', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });

  let readyResolve: (() => void) | undefined;
  const readyByLine = new Promise<void>((resolve) => {
    readyResolve = resolve;
  });
  const lineBuf = { out: '', err: '' };
  const onData = (which: 'out' | 'err') => (d: Buffer) => {
    const s = d.toString('utf8');
    addTail(s);
    lineBuf[which] += s;
    let nl: number;
    while ((nl = lineBuf[which].indexOf('\n')) >= 0) {
      const line = lineBuf[which].slice(0, nl).replace(/\r$/, '');
      lineBuf[which] = lineBuf[which].slice(nl + 1);
      if (opts.readyLine?.test(line)) readyResolve?.();
      if (which === 'out') opts.onStdoutLine?.(line);
    }
    // Keep memory bounded for programs that never print a newline.
    if (lineBuf[which].length > TAIL) lineBuf[which] = lineBuf[which].slice(-TAIL);
  };
  child.stdout?.on('data', onData('out'));
  child.stderr?.on('data', onData('err'));
  // A child that dies makes writes to its stdin fail with EPIPE; that is not our crash.
  child.stdin?.on('error', () => {});

  const pid = child.pid ?? -1;
  let stopping: Promise<ExitInfo> | undefined;
  const hard = setTimeout(() => {
    addTail(`\n[harness] hard timeout ${opts.hardTimeoutMs ?? 600_000} ms, killing\n`);
    killGroup(pid, 'SIGKILL');
  }, opts.hardTimeoutMs ?? 600_000);
  hard.unref();

  const proc: ManagedProcess = {
    name: opts.name,
    pid,
    child,
    exited,
    hasExited: () => exitInfo !== undefined,
    output: () => tail,
    stop(graceMs = 3000) {
      if (stopping) return stopping;
      stopping = (async () => {
        if (exitInfo === undefined && pid > 0) {
          killGroup(pid, 'SIGTERM');
          const t = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
          // Grandchildren that ignored SIGTERM still share the group.
          killGroup(pid, 'SIGKILL');
        }
        const info = await exited;
        clearTimeout(hard);
        live.delete(proc);
        return info;
      })();
      return stopping;
    },
  };
  live.add(proc);
  void exited.then(() => {
    clearTimeout(hard);
    live.delete(proc);
  });

  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const waiters: Promise<unknown>[] = [];
  if (opts.readyLine) waiters.push(readyByLine);
  if (opts.readyPort !== undefined) {
    const port = opts.readyPort;
    waiters.push(
      pollUntil(() => canConnect(port), readyTimeoutMs, 100).then((ok) => {
        if (!ok) throw new Error('port not listening');
      }),
    );
  }
  if (waiters.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.all(waiters).then(() => 'ready' as const),
      exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
      }),
    ]).catch((err: Error) => `failed: ${err.message}`);
    clearTimeout(timer);
    if (outcome !== 'ready') {
      await proc.stop(500);
      const why = outcome === 'exited' ? `exited early (${JSON.stringify(exitInfo)})` : outcome;
      throw new Error(`${opts.name}: not ready: ${why}${spawnError ? ` (${spawnError.message})` : ''}\n--- output ---\n${tail}`);
    }
  } else if (spawnError) {
    await proc.stop(500);
    throw new Error(`${opts.name}: ${spawnError.message}`);
  }
  return proc;
}

/** Stops every process still running that this module started (for after() hooks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Runs a program to completion with a hard timeout; returns exit code and output. */
export async function runToEnd(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; name?: string } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }> {
  installExitHook();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      if (stdout.length > 4 * TAIL) stdout = stdout.slice(-4 * TAIL);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      if (stderr.length > TAIL) stderr = stderr.slice(-TAIL);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      stderr += `\n[spawn error] ${err.message}`;
      // A program that could not be started may never emit 'close'.
      if (child.pid === undefined) {
        clearTimeout(timer);
        resolve({ code: null, signal: null, stdout, stderr, timedOut });
      }
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
