// A loopback DHT network of python3-libtorrent sessions (test/interop/py/lt_dht.py), for the
// pytor DHT tests: real nodes to bootstrap from, announce to and look up.
import path from 'node:path';
import { spawnManaged, type ManagedProcess } from './process.js';
import { PYTHON, PY_DIR } from './libtorrent.js';
import { freePort } from './ports.js';

export interface LtDhtNetwork {
  /** UDP (and TCP) ports of the sessions; [0] is the first node, the last one seeds. */
  readonly ports: number[];
  readonly proc: ManagedProcess;
  /** Runs dht_get_peers on one session and resolves with the peers of its reply alert. */
  getPeers(session: number, infoHashHex: string, timeoutMs?: number): Promise<[string, number][]>;
  /** Session `session` adds a bare magnet link and downloads it into saveDir (peers from the DHT only). */
  leech(session: number, magnet: string, saveDir: string): void;
  /** Resolves when session `session`'s leech is complete. */
  waitFinished(session: number, timeoutMs: number): Promise<void>;
  /** Every session learns this node (add_dht_node). */
  addNode(host: string, port: number): void;
  /** Routing-table sizes of the sessions. */
  stats(timeoutMs?: number): Promise<number[]>;
  errors(): string[];
  stop(): Promise<void>;
}

export interface LtDhtOptions {
  count: number;
  seed?: { torrentFile: string; saveDir: string };
  maxSeconds?: number;
}

type Event = { event: string; session?: number; infoHash?: string; peers?: [string, number][]; nodes?: number[]; message?: string };

export async function startLibtorrentDht(opts: LtDhtOptions): Promise<LtDhtNetwork> {
  const ports: number[] = [];
  for (let i = 0; i < opts.count; i++) ports.push(await freePort('both'));
  const waiters: { match: (e: Event) => boolean; done: (e: Event) => void }[] = [];
  const errors: string[] = [];
  const onLine = (line: string) => {
    let ev: Event;
    try {
      ev = JSON.parse(line) as Event;
    } catch {
      return;
    }
    if (ev.event === 'error' && ev.message) errors.push(ev.message);
    for (const w of [...waiters]) {
      if (w.match(ev)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(ev);
      }
    }
  };
  const proc = await spawnManaged({
    name: 'libtorrent-dht',
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_dht.py'), JSON.stringify({ ports, seed: opts.seed, maxSeconds: opts.maxSeconds ?? 300 })],
    readyLine: /"event": "ready"/,
    readyTimeoutMs: 30_000,
    stdinPipe: true,
    onStdoutLine: onLine,
  });
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  const wait = (match: (e: Event) => boolean, timeoutMs: number, what: string) =>
    new Promise<Event>((resolve, reject) => {
      const t = setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error(`libtorrent-dht: no ${what} within ${timeoutMs} ms\n${proc.output().slice(-2000)}`));
      }, timeoutMs);
      const w = {
        match,
        done: (e: Event) => {
          clearTimeout(t);
          resolve(e);
        },
      };
      waiters.push(w);
    });
  return {
    ports,
    proc,
    errors: () => [...errors],
    async getPeers(session, infoHashHex, timeoutMs = 20_000) {
      const p = wait((e) => e.event === 'dht_peers' && e.session === session && e.infoHash === infoHashHex, timeoutMs, 'dht_peers');
      send({ cmd: 'get_peers', session, infoHash: infoHashHex });
      return (await p).peers ?? [];
    },
    addNode: (host, port) => send({ cmd: 'add_node', host, port }),
    leech: (session, magnet, saveDir) => send({ cmd: 'leech', session, magnet, saveDir }),
    async waitFinished(session, timeoutMs) {
      await wait((e) => e.event === 'finished' && e.session === session, timeoutMs, `finished on session ${session}`);
    },
    async stats(timeoutMs = 5000) {
      const p = wait((e) => e.event === 'stats', timeoutMs, 'stats');
      send({ cmd: 'stats' });
      return (await p).nodes ?? [];
    },
    async stop() {
      send({ cmd: 'quit' });
      const t = setTimeout(() => void proc.stop(), 5000);
      await proc.exited;
      clearTimeout(t);
      if (!proc.hasExited()) await proc.stop();
    },
  };
}
