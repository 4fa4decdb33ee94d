// uTP throughput on loopback, beside TCP and beside libtorrent's uTP.
//
//   node dist/bench/utp.js            (after `npx tsc -p tsconfig.json`, from the repo root)
//
// 1. Transport: SIZE bytes (default 256M) from one endpoint of ours to another, the receiver
//    in a worker thread (so each side has a core), SHA-1 checked: pytor uTP (the default
//    1200-byte payload, and a 16 KiB payload that only loopback can carry) against Node TCP.
// 2. BitTorrent over uTP with libtorrent 2.0 forced to uTP only, LT_SIZE bytes (default 64M,
//    256 KiB pieces, every piece SHA-1 checked): libtorrent seeds to our uTP socket; libtorrent
//    seeds to us over TCP (same client code, for comparison); libtorrent to libtorrent over uTP;
//    we seed to a libtorrent uTP leecher.
// Env: SIZE, LT_SIZE, SKIP_LT=1, BENCH_JSON=1. MB/s is 10^6 bytes per second of transfer
// (connection set up to the last byte), not of whole processes.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { UtpSocket } from '../src/utp/index.js';
import { parseTorrent } from '../src/metainfo/index.js';

interface RecvRequest {
  transport: 'utp' | 'tcp';
  payloadSize?: number;
}
interface RecvReady {
  port: number;
}
interface RecvDone {
  bytes: number;
  sha1: string;
  seconds: number;
}

function parseSize(s: string | undefined, dflt: number): number {
  if (!s) return dflt;
  const m = /^(\d+)([kmg]?)$/i.exec(s.trim());
  if (!m) throw new Error(`cannot parse size ${s}`);
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[(m[2] ?? '').toLowerCase()]!;
}

// ---- the receiving side, in a worker ------------------------------------------------------

async function receiver(req: RecvRequest): Promise<void> {
  const port = parentPort!;
  const consume = (s: Duplex, done: () => void) => {
    const h = createHash('sha1');
    let bytes = 0;
    let t0 = 0;
    s.on('data', (c: Buffer) => {
      if (t0 === 0) t0 = performance.now();
      h.update(c);
      bytes += c.length;
    });
    s.on('end', () => {
      const msg: RecvDone = { bytes, sha1: h.digest('hex'), seconds: (performance.now() - t0) / 1000 };
      port.postMessage(msg);
      s.end();
      done();
    });
  };
  if (req.transport === 'utp') {
    const sock = await UtpSocket.bind(0, '127.0.0.1', { payloadSize: req.payloadSize });
    sock.on('connection', (s: Duplex) => consume(s, () => setTimeout(() => void sock.close(), 200)));
    port.postMessage({ port: sock.port } satisfies RecvReady);
  } else {
    const server = net.createServer((s) => consume(s, () => server.close()));
    server.listen(0, '127.0.0.1', () => port.postMessage({ port: (server.address() as net.AddressInfo).port } satisfies RecvReady));
  }
}

// ---- the sending side ---------------------------------------------------------------------

async function sendAll(s: Duplex, size: number): Promise<string> {
  const chunk = randomBytes(256 * 1024);
  const h = createHash('sha1');
  let left = size;
  while (left > 0) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
    h.update(c);
    left -= c.length;
    if (!s.write(c)) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  return h.digest('hex');
}

async function transportRun(label: string, req: RecvRequest, size: number): Promise<{ label: string; mbps: number; cpuSec: number }> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: req });
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  worker.on('message', (m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const next = async <T>(): Promise<T> => {
    while (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
    return messages.shift() as T;
  };
  const ready = await next<RecvReady>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sock: UtpSocket | null = null;
  let s: Duplex;
  if (req.transport === 'utp') {
    sock = await UtpSocket.bind(0, '127.0.0.1', { payloadSize: req.payloadSize });
    s = await sock.connect({ host: '127.0.0.1', port: ready.port });
  } else {
    s = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(ready.port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
  }
  s.on('data', () => {});
  s.on('error', () => {});
  const sha = await sendAll(s, size);
  const done = await next<RecvDone>();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (done.bytes !== size || done.sha1 !== sha) throw new Error(`${label}: received ${done.bytes} bytes, sha1 ${done.sha1 === sha ? 'ok' : 'MISMATCH'}`);
  s.destroy();
  await sock?.close();
  await worker.terminate();
  return { label, mbps: size / 1e6 / seconds, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

// ---- BitTorrent over uTP against libtorrent -------------------------------------------------

async function libtorrentRuns(size: number): Promise<{ label: string; mbps: number }[]> {
  // Imported here so the worker does not load the test harness.
  const { makeTorrent, startLibtorrentSeeder } = await import('../test/interop/harness/libtorrent.js');
  const { makePayload, payloadChunks } = await import('../test/interop/harness/payload.js');
  const { freePort } = await import('../test/interop/harness/ports.js');
  const { startLtUtp } = await import('../test/utp/lt-utp-harness.js');
  const { downloadAll, serveAll } = await import('../test/utp/mini-peer.js');
  const out: { label: string; mbps: number }[] = [];
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-utp-bench-'));
  try {
    const seedDir = path.join(dir, 'seed');
    await mkdir(seedDir);
    await makePayload(seedDir, { files: [{ path: 'bench.bin', size }] }, 'utp-bench');
    const torrentFile = path.join(dir, 'bench.torrent');
    await makeTorrent({ dataPath: path.join(seedDir, 'bench.bin'), pieceLength: 256 * 1024, trackers: [], outFile: torrentFile, v1Only: true });
    const torrent = parseTorrent(await readFile(torrentFile));
    const peerId = randomBytes(20);
    const check = (label: string, r: { piecesVerified: number; badPieces: number[]; seconds: number }) => {
      if (r.piecesVerified !== torrent.pieces.length || r.badPieces.length) throw new Error(`${label}: ${r.badPieces.length} bad pieces`);
      out.push({ label, mbps: size / 1e6 / r.seconds });
      console.log(`  ${label}: ${(size / 1e6 / r.seconds).toFixed(1)} MB/s`);
    };

    {
      const port = await freePort('both');
      const lt = await startLtUtp({ mode: 'seed', torrentFile, saveDir: seedDir, port });
      const sock = await UtpSocket.bind(0, '127.0.0.1');
      try {
        const s = await sock.connect({ host: '127.0.0.1', port });
        check('libtorrent uTP seeder -> pytor uTP', await downloadAll(s, torrent, { peerId, pipeline: 256 }));
        s.destroy();
      } finally {
        await sock.close();
        await lt.stop();
      }
    }
    {
      const port = await freePort('tcp');
      const lt = await startLibtorrentSeeder({ torrentFile, dataDir: seedDir, port });
      try {
        const s = await new Promise<net.Socket>((resolve, reject) => {
          const c = net.connect(port, '127.0.0.1', () => resolve(c));
          c.once('error', reject);
        });
        check('libtorrent TCP seeder -> pytor TCP (same mini peer)', await downloadAll(s, torrent, { peerId, pipeline: 256 }));
        s.destroy();
      } finally {
        await lt.stop();
      }
    }
    {
      const seedPort = await freePort('both');
      const seeder = await startLtUtp({ mode: 'seed', torrentFile, saveDir: seedDir, port: seedPort });
      const leechDir = path.join(dir, 'lt-leech');
      await mkdir(leechDir);
      const t0 = performance.now();
      const leecher = await startLtUtp({ mode: 'leech', torrentFile, saveDir: leechDir, port: await freePort('both'), peers: [['127.0.0.1', seedPort]] });
      try {
        await leecher.waitForComplete(600_000);
        const mbps = size / 1e6 / ((performance.now() - t0) / 1000);
        out.push({ label: 'libtorrent uTP -> libtorrent uTP (leecher start to complete)', mbps });
        console.log(`  libtorrent uTP -> libtorrent uTP (leecher start to complete): ${mbps.toFixed(1)} MB/s`);
      } finally {
        await leecher.stop();
        await seeder.stop();
      }
    }
    {
      const payload = Buffer.concat([...payloadChunks('utp-bench', 'bench.bin', size)]);
      const sock = await UtpSocket.bind(0, '127.0.0.1');
      let firstConnect = 0;
      sock.on('connection', (s: Duplex) => {
        // libtorrent tries an encrypted handshake first; time from the plaintext one.
        s.once('data', () => {
          if (firstConnect === 0) firstConnect = performance.now();
        });
        serveAll(s, torrent, { peerId, read: (o, l) => payload.subarray(o, o + l) }).catch(() => {});
      });
      const leechDir = path.join(dir, 'lt-leech2');
      await mkdir(leechDir);
      const leecher = await startLtUtp({ mode: 'leech', torrentFile, saveDir: leechDir, port: await freePort('both'), peers: [['127.0.0.1', sock.port]] });
      try {
        await leecher.waitForComplete(600_000);
        const got = createHash('sha1').update(await readFile(path.join(leechDir, 'bench.bin'))).digest('hex');
        if (got !== createHash('sha1').update(payload).digest('hex')) throw new Error('libtorrent leecher got different bytes');
        // The first (MSE) attempt is closed by us; libtorrent retries in plaintext ~3 s later:
        // the clock starts at the first connection that carried data we answered.
        const mbps = size / 1e6 / ((performance.now() - firstConnect) / 1000);
        out.push({ label: 'pytor uTP seeder -> libtorrent uTP leecher', mbps });
        console.log(`  pytor uTP seeder -> libtorrent uTP leecher (approx., from first data): ${mbps.toFixed(1)} MB/s`);
      } finally {
        await leecher.stop();
        await sock.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const size = parseSize(process.env.SIZE, 256 * 1024 * 1024);
  const ltSize = parseSize(process.env.LT_SIZE, 64 * 1024 * 1024);
  console.log(`uTP bench: ${(size / 2 ** 20).toFixed(0)} MiB per transport run, loopback, receiver in a worker thread`);
  const results: { label: string; mbps: number; cpuSec?: number }[] = [];
  for (const [label, req] of [
    ['Node TCP', { transport: 'tcp' }],
    ['pytor uTP, 1200-byte payload (default)', { transport: 'utp' }],
    ['pytor uTP, 16 KiB payload (loopback only)', { transport: 'utp', payloadSize: 16 * 1024 }],
  ] as [string, RecvRequest][]) {
    const r = await transportRun(label, req, size);
    results.push(r);
    console.log(`  ${label}: ${r.mbps.toFixed(1)} MB/s, sender CPU ${r.cpuSec.toFixed(2)} s`);
  }
  if (!process.env.SKIP_LT) {
    console.log(`BitTorrent over uTP with libtorrent 2.0, ${(ltSize / 2 ** 20).toFixed(0)} MiB:`);
    results.push(...(await libtorrentRuns(ltSize)));
  }
  if (process.env.BENCH_JSON) console.log(JSON.stringify({ size, ltSize, results }));
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  void receiver(workerData as RecvRequest);
}
