// `pytor seed` serving real clients on 127.0.0.1: libtorrent (told the seed's address),
// aria2c (finds it through a tracker), Transmission (pytor dials out to it with --peer, since
// Transmission drops 127.x peers that trackers give it). Every download is checked byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { makePayload, verifyPayload, type PayloadSpec } from './harness/payload.js';
import { ltInfo, makeTorrent, startLibtorrentLeecher } from './harness/libtorrent.js';
import { startBittorrentTracker } from './harness/trackers.js';
import { runAria2Leecher } from './harness/aria2.js';
import { startTransmissionLeecher } from './harness/transmission.js';
import { startPytorSeed } from './pytor-procs.js';

const CASE_MS = 120_000;
const MiB = 1 << 20;

interface Ctx {
  after(fn: () => Promise<unknown> | unknown): void;
}

/** A temp folder with a multi-file payload under seed/swarm (odd sizes: short last piece, pieces spanning files). */
async function fixture(t: Ctx, totalMiB: number, seed: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-seed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec: PayloadSpec = {
    files: [
      { path: 'swarm/a.bin', size: Math.floor(totalMiB / 2) * MiB + 12_345 },
      { path: 'swarm/sub/b.bin', size: Math.ceil(totalMiB / 2) * MiB - 7_777 },
      { path: 'swarm/tiny.txt', size: 1_000 },
    ],
  };
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, spec, seed);
  return { dir, seedDir, spec, seed };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

/**
 * pytor seed (no trackers) serves `torrentFile` to a libtorrent leecher told its address; resolves
 * with the still-running seeder once the leecher holds every byte, checked.
 */
async function libtorrentLeechesFrom(t: Ctx, f: Fixture, torrentFile: string) {
  const seeder = await startPytorSeed({ torrentFile, dir: f.seedDir, extra: ['--no-trackers'] });
  t.after(() => seeder.proc.stop());
  const leechDir = path.join(f.dir, 'leech');
  const leecher = await startLibtorrentLeecher({ torrentFile, saveDir: leechDir, port: await freePort('both'), peers: [{ host: LOOPBACK, port: seeder.port }] });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(90_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  return seeder;
}

test('libtorrent downloads from pytor seed and the bytes match', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 16, 'lt-leech');
  const torrentFile = path.join(f.dir, 'swarm.torrent');
  await makeTorrent({ dataPath: path.join(f.seedDir, 'swarm'), pieceLength: 256 * 1024, trackers: [], outFile: torrentFile, v1Only: true });
  const seeder = await libtorrentLeechesFrom(t, f, torrentFile);
  const exit = await seeder.interrupt();
  assert.equal(exit.code, 130, seeder.proc.output());
  // The seed's own account: it uploaded at least the whole payload.
  const m = /: seeded complete for .*; uploaded ([\d.]+) MiB/.exec(seeder.proc.output());
  assert.ok(m && Number(m[1]) >= 16, `uploaded line: ${seeder.proc.output().slice(-400)}`);
});

test('a torrent made by pytor create loads in libtorrent with the same info-hash and downloads from pytor seed', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 8, 'create-lt');
  const torrentFile = path.join(f.dir, 'made.torrent');
  const created = await runPytor(['create', path.join(f.seedDir, 'swarm'), '-o', torrentFile, '--piece-length', '64K', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const made = JSON.parse(created.stdout) as { infoHash: string; pieceCount: number; length: number };
  const info = await ltInfo(torrentFile);
  assert.equal(info.infoHash, made.infoHash);
  assert.equal(info.numPieces, made.pieceCount);
  assert.equal(info.totalSize, made.length);
  assert.deepEqual(info.files.map((x) => [x.path.split(/[\\/]/).join('/'), x.size]).sort(), f.spec.files.map((x) => [x.path, x.size]).sort());

  const seeder = await libtorrentLeechesFrom(t, f, torrentFile);
  assert.equal((await seeder.interrupt()).code, 130);
});

test('aria2c finds pytor seed through a tracker and downloads from it', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 16, 'aria2-leech');
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());
  const torrentFile = path.join(f.dir, 'swarm.torrent');
  const created = await runPytor(['create', path.join(f.seedDir, 'swarm'), '-o', torrentFile, '-t', tracker.httpUrl, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { infoHash } = JSON.parse(created.stdout) as { infoHash: string };

  const seeder = await startPytorSeed({ torrentFile, dir: f.seedDir });
  t.after(() => seeder.proc.stop());
  // aria2 asks the tracker once at start: make sure pytor is listed by then.
  const deadline = Date.now() + 20_000;
  while (!tracker.peers(infoHash).includes(`${LOOPBACK}:${seeder.port}`)) {
    assert.ok(Date.now() < deadline, `pytor never announced: ${JSON.stringify(tracker.peers(infoHash))}\n${seeder.proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const leechDir = path.join(f.dir, 'leech');
  const run = await runAria2Leecher({ torrentFile, outDir: leechDir, trackers: [tracker.httpUrl], timeoutMs: 90_000 });
  assert.equal(run.code, 0, `aria2c: ${run.stdout}\n${run.stderr}\n--- pytor ---\n${seeder.proc.output()}`);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seeder.interrupt()).code, 130);
});

test('transmission downloads from pytor seed, which dials out to it with --peer', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 8, 'tr-leech');
  const torrentFile = path.join(f.dir, 'swarm.torrent');
  const created = await runPytor(['create', path.join(f.seedDir, 'swarm'), '-o', torrentFile, '--piece-length', '256K']);
  assert.equal(created.code, 0, created.stderr);
  const leechDir = path.join(f.dir, 'leech');
  const trPort = await freePort('both');
  const leecher = await startTransmissionLeecher({ torrentFile, saveDir: leechDir, port: trPort });
  t.after(() => leecher.stop());
  const seeder = await startPytorSeed({ torrentFile, dir: f.seedDir, extra: ['--no-trackers', '--peer', `${LOOPBACK}:${trPort}`] });
  t.after(() => seeder.proc.stop());
  await leecher.waitForComplete(90_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seeder.interrupt()).code, 130);
  // Read-only: pytor seed left the data folder as it found it.
  assert.deepEqual((await readdir(path.join(f.seedDir, 'swarm'))).sort(), ['a.bin', 'sub', 'tiny.txt']);
});
