// Smoke test of the interop harness with real clients only (pytor is not in it): each part
// the other interop tests rely on is proven here against real software on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './harness/ports.js';
import { makePayload, verifyPayload, expectedFileHash, hashFile, type PayloadSpec } from './harness/payload.js';
import { makeTorrent, ltInfo, startLibtorrentSeeder, startLibtorrentLeecher } from './harness/libtorrent.js';
import { startOpentracker, startBittorrentTracker } from './harness/trackers.js';
import { startAria2Seeder, runAria2Leecher } from './harness/aria2.js';
import { startTransmissionSeeder, startTransmissionLeecher } from './harness/transmission.js';
import { spawnManaged, pollUntil } from './harness/process.js';

const CASE_MS = 60_000;
const MiB = 1 << 20;
const LOCAL = '127.0.0.1';

/** A fresh temp folder with a small multi-file payload and a v1 torrent of it. */
async function fixture(t: { after: (fn: () => Promise<void>) => void }, opts: { trackers?: string[]; seed?: number } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-harness-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seed = opts.seed ?? 7;
  // Odd sizes so the last piece is short and a piece spans the file boundary.
  const spec: PayloadSpec = { files: [{ path: 'swarm/a.bin', size: 2 * MiB + 12_345 }, { path: 'swarm/sub/b.bin', size: MiB + 1 }] };
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, spec, seed);
  const torrentFile = path.join(dir, 'swarm.torrent');
  const made = await makeTorrent({ dataPath: path.join(seedDir, 'swarm'), pieceLength: 256 * 1024, trackers: opts.trackers ?? [], outFile: torrentFile, v1Only: true });
  return { dir, seedDir, spec, seed, torrentFile, made };
}

test('freePort gives distinct bindable loopback ports', async () => {
  const a = await freePort();
  const b = await freePort('udp');
  const c = await freePort('both');
  assert.equal(new Set([a, b, c]).size, 3);
  for (const p of [a, b, c]) assert.ok(p > 0 && p < 65536);
});

test('makePayload is deterministic and streamed', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-payload-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec: PayloadSpec = { files: [{ path: 'x/y/z.bin', size: 3 * MiB + 5 }, { path: 'empty', size: 0 }] };
  await makePayload(path.join(dir, 'one'), spec, 'k');
  await makePayload(path.join(dir, 'two'), spec, 'k');
  assert.equal((await stat(path.join(dir, 'one', 'x', 'y', 'z.bin'))).size, 3 * MiB + 5);
  assert.equal(await hashFile(path.join(dir, 'one', 'x', 'y', 'z.bin')), await hashFile(path.join(dir, 'two', 'x', 'y', 'z.bin')));
  assert.deepEqual(await verifyPayload(path.join(dir, 'one'), spec, 'k'), []);
  // Another seed gives other bytes, and verifyPayload notices.
  assert.notEqual(expectedFileHash('k', 'x/y/z.bin', 1000), expectedFileHash('other', 'x/y/z.bin', 1000));
  assert.equal((await verifyPayload(path.join(dir, 'one'), spec, 'other')).length, 1);
});

test('spawnManaged: stop() resolves after exit; readiness failures carry the output', async () => {
  const p = await spawnManaged({ name: 'sleeper', cmd: 'sh', args: ['-c', 'echo ready; sleep 100'], readyLine: /^ready$/ });
  const info = await p.stop(1000);
  assert.ok(p.hasExited());
  assert.equal(info.signal, 'SIGTERM');
  assert.throws(() => process.kill(p.pid, 0), /ESRCH/);
  await assert.rejects(
    spawnManaged({ name: 'quitter', cmd: 'sh', args: ['-c', 'echo boom >&2; exit 3'], readyLine: /never/ }),
    /quitter: not ready: exited early[\s\S]*boom/,
  );
  await assert.rejects(spawnManaged({ name: 'slow', cmd: 'sleep', args: ['5'], readyLine: /never/, readyTimeoutMs: 300 }), /slow: not ready: timeout/);
});

test('makeTorrent and lt_info agree on a v1 torrent', async (t) => {
  const f = await fixture(t, { trackers: ['http://127.0.0.1:1/announce'] });
  const info = await ltInfo(f.torrentFile);
  assert.equal(info.infoHash, f.made.infoHash);
  assert.equal(info.infoHashV2, '');
  assert.equal(info.name, 'swarm');
  assert.equal(info.pieceLength, 256 * 1024);
  assert.equal(info.totalSize, 3 * MiB + 12_346);
  assert.equal(info.numPieces, Math.ceil(info.totalSize / info.pieceLength));
  assert.deepEqual(info.files.map((x) => [x.path, x.size, x.pad]), [
    ['swarm/a.bin', 2 * MiB + 12_345, false],
    ['swarm/sub/b.bin', MiB + 1, false],
  ]);
  assert.deepEqual(info.trackers, [{ url: 'http://127.0.0.1:1/announce', tier: 0 }]);
});

test('libtorrent seeder -> aria2c leecher via opentracker', { timeout: CASE_MS }, async (t) => {
  const ot = await startOpentracker({ host: LOCAL });
  t.after(() => ot.stop());
  const f = await fixture(t, { trackers: [ot.httpUrl] });
  await ot.allow([f.made.infoHash]);
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'aria2');
  const r = await runAria2Leecher({ torrentFile: f.torrentFile, outDir: out, trackers: [ot.httpUrl], timeoutMs: 45_000 });
  assert.equal(r.code, 0, `aria2c failed (timedOut=${r.timedOut}):\n${r.stderr}\n${r.stdout}`);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  assert.ok(r.wallSec > 0 && r.peakRssKb > 0, `measurements: ${JSON.stringify({ wall: r.wallSec, rss: r.peakRssKb, cpu: r.cpuSec })}`);
  const s = await seeder.stats();
  assert.ok(s.uploaded >= 3 * MiB, `seeder uploaded only ${s.uploaded}`);
});

test('transmission seeder -> libtorrent leecher (direct peer)', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const trPort = await freePort('both');
  const seeder = await startTransmissionSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: trPort });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'lt');
  const leecher = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: out, port: await freePort('both'), peers: [{ host: LOCAL, port: trPort }] });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(45_000);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const ok = await pollUntil(async () => (await seeder.stats()).uploaded >= 3 * MiB, 5000, 200);
  assert.ok(ok, `transmission upload counter: ${JSON.stringify(await seeder.stats())}`);
});

test('aria2 seeder -> libtorrent leecher (direct peer)', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const ariaPort = await freePort('tcp');
  const seeder = await startAria2Seeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: ariaPort });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'lt');
  const leecher = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: out, port: await freePort('both'), peers: [{ host: LOCAL, port: ariaPort }] });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(45_000);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const ok = await pollUntil(async () => (await seeder.stats()).uploaded >= 3 * MiB, 5000, 200);
  assert.ok(ok, `aria2 upload counter: ${JSON.stringify(await seeder.stats())}`);
});

test('bittorrent-tracker (HTTP) lists a libtorrent seeder; a leecher finds it over UDP', { timeout: CASE_MS }, async (t) => {
  const bt = await startBittorrentTracker();
  t.after(() => bt.stop());
  assert.match(bt.httpUrl, /^http:\/\/127\.0\.0\.1:\d+\/announce$/);
  assert.match(bt.udpUrl, /^udp:\/\/127\.0\.0\.1:\d+\/announce$/);
  const f = await fixture(t, { trackers: [bt.httpUrl] });
  const seedPort = await freePort('both');
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: seedPort });
  t.after(() => seeder.stop());
  const listed = await pollUntil(() => bt.peers(f.made.infoHash).includes(`${LOCAL}:${seedPort}`), 15_000, 100);
  assert.ok(listed, `tracker peers: ${JSON.stringify(bt.peers(f.made.infoHash))}`);
  // The leecher knows no peer: only the UDP tracker can tell it about the seeder.
  const out = path.join(f.dir, 'lt');
  const leecher = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: out, port: await freePort('both'), trackers: [bt.udpUrl] });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(45_000);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
});

test('libtorrent seeder -> transmission leecher (the seeder connects out)', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const trPort = await freePort('both');
  const out = path.join(f.dir, 'tr');
  const leecher = await startTransmissionLeecher({ torrentFile: f.torrentFile, saveDir: out, port: trPort });
  t.after(() => leecher.stop());
  // Transmission drops 127.x peers from trackers as "martian"; an incoming connection works.
  seeder.connect(LOCAL, trPort);
  await leecher.waitForComplete(45_000);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
});

test('runToEnd reports a missing program instead of hanging', { timeout: 10_000 }, async () => {
  const { runToEnd } = await import('./harness/process.js');
  const r = await runToEnd('pytor-no-such-program', [], { timeoutMs: 5000 });
  assert.equal(r.code, null);
  assert.match(r.stderr, /ENOENT/);
});
