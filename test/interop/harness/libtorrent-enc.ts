// libtorrent with protocol encryption settings (test/interop/py/lt_enc.py): a seeder or a
// leecher whose out_enc_policy/in_enc_policy and allowed_enc_level the test chooses.
import path from 'node:path';
import { PYTHON, PY_DIR, type LtStats } from './libtorrent.js';
import { spawnManaged, type ManagedProcess } from './process.js';

export interface LtEncOptions {
  mode: 'seed' | 'leech';
  torrentFile: string;
  /** seed: the folder holding the content; leech: where to save it. */
  dir: string;
  port: number;
  /** out_enc_policy and in_enc_policy (default 'forced'). */
  encPolicy?: 'forced' | 'enabled' | 'disabled';
  /** allowed_enc_level (default 'rc4'). */
  encLevel?: 'rc4' | 'plaintext' | 'both';
  /** prefer_rc4 (default true); libtorrent's own default is false, which selects MSE plaintext when both are offered. */
  preferRc4?: boolean;
}

export interface LtEncHandle {
  readonly port: number;
  readonly proc: ManagedProcess;
  connect(host: string, port: number): void;
  /** Resolves on the leecher's 'complete' line; rejects on timeout or exit. */
  waitForComplete(timeoutMs: number): Promise<void>;
  lastStats(): LtStats | undefined;
  errors(): string[];
  stop(): Promise<void>;
}

export async function startLibtorrentEnc(opts: LtEncOptions): Promise<LtEncHandle> {
  const cfg = {
    mode: opts.mode,
    torrentFile: opts.torrentFile,
    saveDir: opts.dir,
    port: opts.port,
    encPolicy: opts.encPolicy ?? 'forced',
    encLevel: opts.encLevel ?? 'rc4',
    preferRc4: opts.preferRc4 ?? true,
    statusIntervalMs: 500,
  };
  const errors: string[] = [];
  let last: LtStats | undefined;
  let complete = false;
  const completeWaiters: (() => void)[] = [];
  const proc = await spawnManaged({
    name: `libtorrent-enc-${opts.mode}`,
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_enc.py'), JSON.stringify(cfg)],
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs: 60_000,
    stdinPipe: true,
    hardTimeoutMs: 5 * 60_000,
    onStdoutLine: (line) => {
      let ev: { event?: string; message?: string };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        return;
      }
      if (ev.event === 'error' && ev.message) errors.push(ev.message);
      else if (ev.event === 'status') last = ev as unknown as LtStats;
      else if (ev.event === 'complete') {
        complete = true;
        for (const w of completeWaiters.splice(0)) w();
      }
    },
  });
  if (errors.length > 0) {
    await proc.stop();
    throw new Error(`libtorrent-enc-${opts.mode}: ${errors.join('; ')}\n${proc.output()}`);
  }
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  return {
    port: opts.port,
    proc,
    connect: (host, port) => send({ cmd: 'connect', host, port }),
    lastStats: () => last,
    errors: () => [...errors],
    waitForComplete(timeoutMs) {
      if (complete) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`libtorrent leecher not complete after ${timeoutMs} ms (last ${JSON.stringify(last)})\n${proc.output()}`)), timeoutMs);
        completeWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
        void proc.exited.then(() => {
          clearTimeout(t);
          reject(new Error(`libtorrent leecher exited before complete\n${proc.output()}`));
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
