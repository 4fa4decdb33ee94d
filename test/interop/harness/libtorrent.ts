// libtorrent (python3-libtorrent 2.0) as a reference peer, driven through small python scripts
// in test/interop/py/. The scripts print JSON lines; this module turns them into handles.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnManaged, runToEnd, type ManagedProcess } from './process.js';

/**
 * The interpreter that sees Debian's python3-libtorrent (installed under /usr/lib/python3/
 * dist-packages). A pyenv or venv `python3` earlier on PATH would not see it, so the Debian
 * interpreter is named by its standard location; PYTOR_PYTHON overrides it.
 */
export const PYTHON = process.env.PYTOR_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** Folder of the python scripts, resolved from the repo root (tests run with cwd = root). */
export const PY_DIR = path.resolve(process.cwd(), 'test', 'interop', 'py');

export interface MakeTorrentOptions {
  /** A file (single-file torrent) or a folder (multi-file torrent named after the folder). */
  dataPath: string;
  /** Bytes; 0 or absent lets libtorrent choose. */
  pieceLength?: number;
  /** Announce URLs: a string is its own tier; an array of strings is one tier. */
  trackers?: (string | string[])[];
  outFile: string;
  /** v1-only (BEP 3) torrent; the default for tests since pytor speaks v1. */
  v1Only?: boolean;
  v2Only?: boolean;
  comment?: string;
  creator?: string;
  private?: boolean;
  webSeeds?: string[];
  creationDate?: number;
}

export interface MadeTorrent {
  /** v1 info-hash, hex ('' for a v2-only torrent). */
  infoHash: string;
  /** v2 info-hash, hex ('' for a v1-only torrent). */
  infoHashV2: string;
  numPieces: number;
}

/** Creates a .torrent with libtorrent's create_torrent. v1Only defaults to true. */
export async function makeTorrent(opts: MakeTorrentOptions): Promise<MadeTorrent> {
  const cfg = { ...opts, v1Only: opts.v1Only ?? !opts.v2Only };
  const r = await runToEnd(PYTHON, [path.join(PY_DIR, 'lt_make_torrent.py'), JSON.stringify(cfg)], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`makeTorrent failed (${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as MadeTorrent;
}

/** What libtorrent reads from a .torrent (output of test/interop/py/lt_info.py). */
export interface LtInfo {
  infoHash: string;
  infoHashV2: string;
  name: string;
  totalSize: number;
  pieceLength: number;
  numPieces: number;
  files: { path: string; size: number; pad: boolean }[];
  trackers: { url: string; tier: number }[];
  private: boolean;
  comment: string;
  creator: string;
  creationDate: number | null;
  webSeeds: string[];
}

export async function ltInfo(torrentFile: string): Promise<LtInfo> {
  const r = await runToEnd(PYTHON, [path.join(PY_DIR, 'lt_info.py'), torrentFile], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`lt_info failed (${r.code ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout) as LtInfo;
}

export interface LtStats {
  uploaded: number;
  downloaded: number;
  progress: number;
  peers: number;
  seeds: number;
  state: string;
  isSeeding: boolean;
  uploadRate: number;
  downloadRate: number;
  totalDone: number;
  totalWanted: number;
  error: string;
}

export interface LibtorrentHandle {
  readonly port: number;
  readonly proc: ManagedProcess;
  /** Fresh counters from the python side (asked on stdin, answered within ~100 ms). */
  stats(): Promise<LtStats>;
  /** Resolves when every piece is downloaded and verified; rejects on timeout or exit. */
  waitForComplete(timeoutMs: number): Promise<void>;
  /** Asks the client to connect to a peer. */
  connect(host: string, port: number): void;
  /** Error lines reported so far (torrent errors, listen failures). */
  errors(): string[];
  stop(): Promise<void>;
}

interface SessionConfig {
  mode: 'seed' | 'leech';
  torrentFile?: string;
  magnet?: string;
  saveDir: string;
  port: number;
  trackers?: string[];
  peers?: [string, number][];
  seedMode?: boolean;
  statusIntervalMs?: number;
}

async function startSession(cfg: SessionConfig, readyTimeoutMs: number): Promise<LibtorrentHandle> {
  let last: LtStats | undefined;
  const statusWaiters: ((s: LtStats) => void)[] = [];
  const errors: string[] = [];
  let complete = false;
  const completeWaiters: (() => void)[] = [];
  const onLine = (line: string) => {
    let ev: { event?: string; message?: string } & Partial<LtStats>;
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      return;
    }
    if (ev.event === 'status') {
      last = ev as LtStats;
      for (const w of statusWaiters.splice(0)) w(last);
    } else if (ev.event === 'error' && ev.message) {
      errors.push(ev.message);
    } else if (ev.event === 'complete') {
      complete = true;
      for (const w of completeWaiters.splice(0)) w();
    }
  };
  const proc = await spawnManaged({
    name: `libtorrent-${cfg.mode}`,
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_session.py'), JSON.stringify(cfg)],
    // Ready when listening and (for a seeder) checked and seeding; an error line fails fast.
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs,
    stdinPipe: true,
    onStdoutLine: onLine,
  });
  if (errors.length > 0) {
    await proc.stop();
    throw new Error(`libtorrent-${cfg.mode}: ${errors.join('; ')}\n--- output ---\n${proc.output()}`);
  }
  const send = (obj: unknown) => {
    if (!proc.hasExited()) proc.child.stdin?.write(JSON.stringify(obj) + '\n');
  };
  return {
    port: cfg.port,
    proc,
    errors: () => [...errors],
    connect: (host, port) => send({ cmd: 'connect', host, port }),
    stats() {
      return new Promise<LtStats>((resolve, reject) => {
        if (proc.hasExited()) {
          if (last) resolve(last);
          else reject(new Error(`libtorrent-${cfg.mode} has exited`));
          return;
        }
        const t = setTimeout(() => {
          const i = statusWaiters.indexOf(done);
          if (i >= 0) statusWaiters.splice(i, 1);
          if (last) resolve(last);
          else reject(new Error(`libtorrent-${cfg.mode}: no status`));
        }, 2000);
        const done = (s: LtStats) => {
          clearTimeout(t);
          resolve(s);
        };
        statusWaiters.push(done);
        send({ cmd: 'status' });
      });
    },
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
        const t = setTimeout(
          () => finish(new Error(`libtorrent-${cfg.mode}: not complete after ${timeoutMs} ms (last: ${JSON.stringify(last)})\n${proc.output()}`)),
          timeoutMs,
        );
        completeWaiters.push(() => finish());
        void proc.exited.then((info) =>
          finish(new Error(`libtorrent-${cfg.mode} exited (${JSON.stringify(info)}) before complete\n${proc.output()}`)),
        );
      });
    },
    async stop() {
      send({ cmd: 'quit' });
      proc.child.stdin?.end();
      await proc.stop(3000);
    },
  };
}

export interface LibtorrentSeederOptions {
  torrentFile: string;
  /** The folder that holds the torrent's content (the file, or the torrent-named folder). */
  dataDir: string;
  port: number;
  /** Extra announce URLs (added to the torrent's own). */
  trackers?: string[];
  /** Skip the initial hash check (pieces are verified on first upload instead). */
  seedMode?: boolean;
  /** How long checking the data may take (default 120 s). */
  readyTimeoutMs?: number;
}

/**
 * A libtorrent seeder on 127.0.0.1:port; resolves once the data is checked and seeding.
 * Peers connect to it directly; a tracker is optional.
 */
export function startLibtorrentSeeder(opts: LibtorrentSeederOptions): Promise<LibtorrentHandle> {
  return startSession(
    { mode: 'seed', torrentFile: opts.torrentFile, saveDir: opts.dataDir, port: opts.port, trackers: opts.trackers, seedMode: opts.seedMode },
    opts.readyTimeoutMs ?? 120_000,
  );
}

export interface LibtorrentLeecherOptions {
  torrentFile?: string;
  magnet?: string;
  saveDir: string;
  port: number;
  /** Peers to connect to directly (retried every second while none is connected). */
  peers?: { host: string; port: number }[];
  trackers?: string[];
}

/** A libtorrent leecher on 127.0.0.1:port; resolves once it is listening with the torrent added. */
export function startLibtorrentLeecher(opts: LibtorrentLeecherOptions): Promise<LibtorrentHandle> {
  if (!opts.torrentFile === !opts.magnet) throw new Error('startLibtorrentLeecher: give exactly one of torrentFile or magnet');
  return startSession(
    {
      mode: 'leech',
      torrentFile: opts.torrentFile,
      magnet: opts.magnet,
      saveDir: opts.saveDir,
      port: opts.port,
      trackers: opts.trackers,
      peers: (opts.peers ?? []).map((p) => [p.host, p.port]),
    },
    30_000,
  );
}
