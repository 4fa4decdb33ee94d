// Shared pieces of the pytor-download interop tests: fixtures (payload + torrent), a pytor
// child the test can signal, the --json summary, a throttling TCP proxy (so a run can be
// interrupted at a chosen point) and an independent count of the pieces on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTorrent, type Torrent } from '../../src/metainfo/index.js';
import { PYTOR_ENTRY } from '../helpers/cli.js';
import { makePayload, type PayloadSpec } from './harness/payload.js';
import { makeTorrent, type MadeTorrent } from './harness/libtorrent.js';
import { LOOPBACK } from './harness/ports.js';

export const MiB = 1 << 20;
export const LOCAL = LOOPBACK;

type AfterHook = { after: (fn: () => Promise<void> | void) => void };

export interface Fixture {
  dir: string;
  /** Folder holding the torrent's content (the torrent-named folder or file is inside). */
  seedDir: string;
  spec: PayloadSpec;
  seed: string;
  torrentFile: string;
  made: MadeTorrent;
  torrent: Torrent;
}

/**
 * A temp folder with a payload under seed/ and a v1 torrent of `name` (a folder for a
 * multi-file torrent, a file otherwise). Every spec path must start with `name`.
 */
export async function makeFixture(
  t: AfterHook,
  opts: { name: string; spec: PayloadSpec; seed: string; pieceLength: number; trackers?: string[] },
): Promise<Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-dl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, opts.spec, opts.seed);
  const torrentFile = path.join(dir, `${opts.name}.torrent`);
  const made = await makeTorrent({
    dataPath: path.join(seedDir, opts.name),
    pieceLength: opts.pieceLength,
    trackers: opts.trackers ?? [],
    outFile: torrentFile,
    v1Only: true,
  });
  const torrent = parseTorrent(await readFile(torrentFile));
  return { dir, seedDir, spec: opts.spec, seed: opts.seed, torrentFile, made, torrent };
}

/** The fields `pytor download --json` prints. */
export interface Summary {
  infoHash: string;
  name: string;
  output: string;
  complete: boolean;
  interrupted: boolean;
  length: number;
  verified: number;
  downloaded: number;
  uploaded: number;
  seconds: number;
  averageRate: number;
  hashFailures: number;
}

/** The last stdout line, parsed as the JSON summary (throws with the output if it is not one). */
export function parseSummary(stdout: string, stderr = ''): Summary {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Summary;
  } catch {
    throw new Error(`no JSON summary on stdout:\n${stdout}\n--- stderr ---\n${stderr.slice(-4000)}`);
  }
}

export interface PytorChild {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (killed after the hard timeout if need be). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts `pytor ARGS` (the compiled CLI of this build) with piped output, for tests that
 * send it signals. It is SIGKILLed after `timeoutMs`, and by `t.after` if still running.
 */
export function spawnPytor(t: AfterHook, args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): PytorChild {
  const env = { ...process.env, ...opts.env };
  if (!opts.env || !('DEBUG' in opts.env)) delete env.DEBUG;
  const child = spawn(process.execPath, [PYTOR_ENTRY, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    if (err.length > 1 << 20) err = err.slice(-(1 << 19)); // debug logs can be long
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }>((resolve) => {
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null, timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, stdout: () => out, stderr: () => err, exited, kill: (s) => child.kill(s) };
}

export interface ThrottleProxy {
  readonly port: number;
  /** Bytes passed from the target to the client so far (all connections). */
  forwarded(): number;
  stop(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 to 127.0.0.1:targetPort that passes the target's bytes on at no
 * more than `bytesPerSecond` (the other direction unthrottled). It lets a test stop a
 * download at a chosen point whatever the real seeder's speed, and counts what it passed.
 */
export async function startThrottleProxy(targetPort: number, bytesPerSecond: number): Promise<ThrottleProxy> {
  const TICK_MS = 50;
  const perTick = Math.max(1, Math.floor((bytesPerSecond * TICK_MS) / 1000));
  let total = 0;
  const sockets = new Set<net.Socket>();
  const pipes = new Set<{ queue: Buffer[]; client: net.Socket; upstream: net.Socket }>();
  const timer = setInterval(() => {
    // One budget shared by every connection, so the whole swarm of connections is throttled.
    let budget = perTick;
    for (const p of pipes) {
      while (budget > 0 && p.queue.length > 0) {
        const head = p.queue[0]!;
        const n = Math.min(head.length, budget);
        p.client.write(head.subarray(0, n));
        total += n;
        budget -= n;
        if (n === head.length) p.queue.shift();
        else p.queue[0] = head.subarray(n);
      }
      // Back-pressure: read more from the target only once the queue is short.
      if (p.queue.length === 0 && p.upstream.isPaused()) p.upstream.resume();
    }
  }, TICK_MS);
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: LOOPBACK, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const p = { queue: [] as Buffer[], client, upstream };
    pipes.add(p);
    upstream.on('data', (d: Buffer) => {
      p.queue.push(d);
      upstream.pause();
    });
    client.pipe(upstream);
    const end = () => {
      pipes.delete(p);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    forwarded: () => total,
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * How many pieces of `torrent` the files under `outDir` hold with the right SHA-1, read
 * independently of pytor's storage (missing or short files count as not there).
 */
export async function countGoodPieces(torrent: Torrent, outDir: string): Promise<{ pieces: number; bytes: number }> {
  const hasher = { h: createHash('sha1'), filled: 0, index: 0, good: 0, bytes: 0 };
  const pieceLen = (i: number) => (i < torrent.pieces.length - 1 ? torrent.pieceLength : torrent.length - torrent.pieceLength * (torrent.pieces.length - 1));
  const feed = (buf: Buffer) => {
    let at = 0;
    while (at < buf.length && hasher.index < torrent.pieces.length) {
      const n = Math.min(buf.length - at, pieceLen(hasher.index) - hasher.filled);
      hasher.h.update(buf.subarray(at, at + n));
      hasher.filled += n;
      at += n;
      if (hasher.filled === pieceLen(hasher.index)) {
        if (hasher.h.digest().equals(torrent.pieces[hasher.index]!)) {
          hasher.good++;
          hasher.bytes += hasher.filled;
        }
        hasher.h = createHash('sha1');
        hasher.filled = 0;
        hasher.index++;
      }
    }
  };
  const chunk = Buffer.alloc(MiB);
  for (const f of torrent.files) {
    const rel = torrent.multiFile ? [torrent.name, ...f.path] : [torrent.name];
    let left = f.length;
    const fh = await open(path.join(outDir, ...rel), 'r').catch(() => undefined);
    try {
      while (left > 0) {
        const want = Math.min(left, chunk.length);
        const { bytesRead } = fh ? await fh.read(chunk, 0, want, f.length - left) : { bytesRead: 0 };
        // Bytes the file lacks are fed as zeros: such pieces then simply fail.
        if (bytesRead < want) chunk.fill(0, bytesRead, want);
        feed(chunk.subarray(0, want));
        left -= want;
      }
    } finally {
      await fh?.close();
    }
  }
  return { pieces: hasher.good, bytes: hasher.bytes };
}
