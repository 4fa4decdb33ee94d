// Several libtorrent sessions in one python process (test/interop/py/lt_swarm.py): N seeders
// of one payload for one leecher, or N leechers of one seeder, on 127.0.0.1 only. One process
// rather than N keeps a 50-peer swarm possible on a 2-core machine.
import path from 'node:path';
import { PYTHON, PY_DIR } from './libtorrent.js';
import { spawnManaged, type ManagedProcess } from './process.js';

export interface LtSwarmStatus {
  /** Sum over the sessions of bytes held (verified pieces). */
  totalDone: number;
  uploaded: number;
  downloaded: number;
  peers: number;
  /** Sessions that have every piece. */
  complete: number;
  sessions: number;
}

export interface LtSwarmOptions {
  mode: 'seed' | 'leech';
  torrentFile: string;
  /** seed: the folder that holds the data; leech: each session downloads into saveDir/<i>. */
  saveDir: string;
  /** One session per port, each listening on 127.0.0.1. */
  ports: number[];
  /** Peers every session connects to (leechers retry every second while they have none). */
  peers?: { host: string; port: number }[];
  /** seed: take the data as complete without hashing it (the caller knows it is right). */
  haveAll?: boolean;
  /** Ignore the torrent's trackers: peers come only from `peers`. */
  noTrackers?: boolean;
  statusIntervalMs?: number;
  /** leech: exit once every session is complete. */
  exitOnComplete?: boolean;
  readyTimeoutMs?: number;
  /** Called for every status line (every statusIntervalMs), with the time it arrived. */
  onStatus?: (s: LtSwarmStatus, atMs: number) => void;
}

export interface LtSwarmHandle {
  readonly proc: ManagedProcess;
  readonly ports: number[];
  last(): LtSwarmStatus | undefined;
  /** leech: resolves when every session is complete; rejects on timeout or exit. */
  waitForComplete(timeoutMs: number): Promise<void>;
  connect(host: string, port: number): void;
  errors(): string[];
  stop(): Promise<void>;
}

export async function startLtSwarm(opts: LtSwarmOptions): Promise<LtSwarmHandle> {
  let last: LtSwarmStatus | undefined;
  const errors: string[] = [];
  let complete = false;
  const completeWaiters: (() => void)[] = [];
  const onLine = (line: string) => {
    let ev: { event?: string; message?: string } & Partial<LtSwarmStatus>;
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    if (ev.event === 'status') {
      last = ev as LtSwarmStatus;
      opts.onStatus?.(last, Date.now());
    } else if (ev.event === 'error' && ev.message) {
      errors.push(ev.message);
    } else if (ev.event === 'complete') {
      complete = true;
      for (const w of completeWaiters.splice(0)) w();
    }
  };
  const cfg = {
    mode: opts.mode,
    torrentFile: opts.torrentFile,
    saveDir: opts.saveDir,
    ports: opts.ports,
    peers: (opts.peers ?? []).map((p) => [p.host, p.port]),
    haveAll: opts.haveAll ?? false,
    noTrackers: opts.noTrackers ?? false,
    statusIntervalMs: opts.statusIntervalMs ?? 250,
    exitOnComplete: opts.exitOnComplete ?? false,
  };
  const proc = await spawnManaged({
    name: `lt-swarm-${opts.mode}`,
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_swarm.py'), JSON.stringify(cfg)],
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
    hardTimeoutMs: 60 * 60_000,
    stdinPipe: true,
    onStdoutLine: onLine,
  });
  if (errors.length > 0) {
    await proc.stop();
    throw new Error(`lt-swarm-${opts.mode}: ${errors.join('; ')}\n--- output ---\n${proc.output()}`);
  }
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  return {
    proc,
    ports: opts.ports,
    last: () => last,
    errors: () => [...errors],
    connect: (host, port) => send({ cmd: 'connect', host, port }),
    waitForComplete(timeoutMs) {
      if (complete) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const finish = (err?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(t);
          if (err) reject(err);
          else resolve();
        };
        const t = setTimeout(() => finish(new Error(`lt-swarm: not complete after ${timeoutMs} ms (last: ${JSON.stringify(last)})`)), timeoutMs);
        completeWaiters.push(() => finish());
        void proc.exited.then((info) => finish(new Error(`lt-swarm exited (${JSON.stringify(info)}) before complete\n${proc.output()}`)));
      });
    },
    async stop() {
      send({ cmd: 'quit' });
      proc.child.stdin?.end();
      await proc.stop(5000);
    },
  };
}
