// libtorrent forced to uTP only (test/interop/py/lt_utp.py), with the same JSON-lines protocol
// as the harness's lt_session.py: a small handle for the uTP interop test and the bench.
import path from 'node:path';
import { PYTHON, PY_DIR } from '../interop/harness/libtorrent.js';
import { spawnManaged, type ManagedProcess } from '../interop/harness/process.js';

export interface LtUtpConfig {
  mode: 'seed' | 'leech';
  torrentFile: string;
  saveDir: string;
  port: number;
  peers?: [string, number][];
  seedMode?: boolean;
  exitOnComplete?: boolean;
}

export interface LtUtpStatus {
  progress: number;
  uploaded: number;
  downloaded: number;
  peers: number;
  isSeeding: boolean;
}

export interface LtUtpHandle {
  readonly proc: ManagedProcess;
  lastStatus(): LtUtpStatus | undefined;
  waitForComplete(timeoutMs: number): Promise<void>;
  connect(host: string, port: number): void;
  errors(): string[];
  stop(): Promise<void>;
}

export async function startLtUtp(cfg: LtUtpConfig, readyTimeoutMs = 60_000): Promise<LtUtpHandle> {
  const errors: string[] = [];
  let last: LtUtpStatus | undefined;
  let complete = false;
  const waiters: (() => void)[] = [];
  const proc = await spawnManaged({
    name: `libtorrent-utp-${cfg.mode}`,
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_utp.py'), JSON.stringify({ statusIntervalMs: 500, ...cfg })],
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs,
    stdinPipe: true,
    onStdoutLine(line) {
      let ev: { event?: string; message?: string } & Partial<LtUtpStatus>;
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        return;
      }
      if (ev.event === 'status') last = ev as LtUtpStatus;
      else if (ev.event === 'error' && ev.message) errors.push(ev.message);
      else if (ev.event === 'complete') {
        complete = true;
        for (const w of waiters.splice(0)) w();
      }
    },
  });
  if (errors.length > 0) {
    await proc.stop();
    throw new Error(`libtorrent (uTP) failed to start: ${errors.join('; ')}\n${proc.output()}`);
  }
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  return {
    proc,
    lastStatus: () => last,
    errors: () => [...errors],
    connect: (host, port) => send({ cmd: 'connect', host, port }),
    waitForComplete(timeoutMs) {
      if (complete) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`libtorrent (uTP) not complete after ${timeoutMs} ms: ${JSON.stringify(last)}\n${proc.output()}`)), timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
        void proc.exited.then(() => {
          clearTimeout(t);
          if (complete) resolve();
          else reject(new Error(`libtorrent (uTP) exited before complete\n${proc.output()}`));
        });
      });
    },
    async stop() {
      send({ cmd: 'quit' });
      proc.child.stdin?.end();
      await proc.stop(3000);
    },
  };
}
