// pytor itself as a child process in interop tests: `pytor seed` (ready once it says
// "seeding ... on port N") and `pytor download`, both on 127.0.0.1 only, with their output kept.
import { PYTOR_ENTRY } from '../helpers/cli.js';
import { spawnManaged, type ExitInfo, type ManagedProcess } from './harness/process.js';

export interface PytorProc {
  readonly proc: ManagedProcess;
  /** Sends SIGINT (Ctrl-C) and waits for the exit; SIGKILL after graceMs. */
  interrupt(graceMs?: number): Promise<ExitInfo>;
  /** The last JSON line printed (the --json summary), parsed; undefined when none. */
  summary(): Record<string, unknown> | undefined;
}

export interface PytorSeedProc extends PytorProc {
  readonly port: number;
}

const READY = /^seeding .* on port (\d+)$/m;

function wrap(proc: ManagedProcess, stdout: () => string): PytorProc {
  return {
    proc,
    async interrupt(graceMs = 10_000) {
      if (!proc.hasExited()) process.kill(proc.pid, 'SIGINT');
      const t = setTimeout(() => void proc.stop(100), graceMs);
      const info = await proc.exited;
      clearTimeout(t);
      return info;
    },
    summary() {
      const lines = stdout().split('\n').filter((l) => l.startsWith('{'));
      const last = lines[lines.length - 1];
      return last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
    },
  };
}

/**
 * Starts `pytor seed TORRENT -d DIR --port 0 --bind 127.0.0.1 EXTRA...` and resolves once it
 * serves (the data checked). Plain text output (no --json) so the ready line appears.
 */
export async function startPytorSeed(opts: { torrentFile: string; dir: string; extra?: string[]; readyTimeoutMs?: number }): Promise<PytorSeedProc> {
  let stdout = '';
  const proc = await spawnManaged({
    name: 'pytor-seed',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'seed', opts.torrentFile, '-d', opts.dir, '--port', '0', '--bind', '127.0.0.1', ...(opts.extra ?? [])],
    env: withoutDebug(),
    readyLine: READY,
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    hardTimeoutMs: 180_000,
    onStdoutLine: (line) => (stdout += `${line}\n`),
  });
  const m = READY.exec(stdout);
  if (!m) {
    await proc.stop();
    throw new Error(`pytor-seed: no port in its output\n${proc.output()}`);
  }
  return { ...wrap(proc, () => stdout), port: Number(m[1]) };
}

/** Starts `pytor download TORRENT -o DIR --port 0 --bind 127.0.0.1 --json EXTRA...` (not waited on). */
export async function startPytorDownload(opts: { torrentFile: string; outDir: string; extra?: string[]; name?: string }): Promise<PytorProc> {
  let stdout = '';
  const proc = await spawnManaged({
    name: opts.name ?? 'pytor-download',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'download', opts.torrentFile, '-o', opts.outDir, '--port', '0', '--bind', '127.0.0.1', '--json', ...(opts.extra ?? [])],
    env: withoutDebug(),
    hardTimeoutMs: 180_000,
    onStdoutLine: (line) => (stdout += `${line}\n`),
  });
  return wrap(proc, () => stdout);
}

/** DEBUG output would go to stderr and is fine, but keeps tests quiet and fast by default. */
function withoutDebug(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (!process.env.PYTOR_TEST_DEBUG) delete env.DEBUG;
  else env.DEBUG = process.env.PYTOR_TEST_DEBUG;
  return env;
}
