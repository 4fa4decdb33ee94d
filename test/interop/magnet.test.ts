// Magnet links end to end with real clients on loopback: pytor fetches the metadata (BEP 9)
// from a libtorrent or aria2 seeder found through a loopback tracker, then downloads;
// `--save-torrent` writes a .torrent with the original info-hash; and libtorrent, given only
// a magnet link, fetches the metadata from a pytor seeder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { runPytor } from '../helpers/cli.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { formatMagnet } from '../../src/magnet/index.js';
import { freePort } from './harness/ports.js';
import { verifyPayload, type PayloadSpec } from './harness/payload.js';
import { ltInfo, startLibtorrentLeecher, startLibtorrentSeeder } from './harness/libtorrent.js';
import { startAria2Seeder } from './harness/aria2.js';
import { startBittorrentTracker, startOpentracker } from './harness/trackers.js';
import { LOCAL, MiB, makeFixture, parseSummary } from './pytor-helpers.js';
import { startPytorSeed } from './pytor-procs.js';

const CASE_MS = 150_000;
const RUN_MS = 120_000;
const PIECE = 256 * 1024;

/** Many files, so the info dict spans several 16 KiB metadata pieces. */
function manyFiles(root: string, count: number): PayloadSpec {
  return { files: Array.from({ length: count }, (_, i) => ({ path: `${root}/dir-${i % 7}/file-with-a-longish-name-${i}.bin`, size: 20_000 + i * 997 })) };
}

test('libtorrent seeder, opentracker: download a magnet link, --save-torrent keeps the info-hash', { timeout: CASE_MS }, async (t) => {
  // ~600 files: the info dict is well over 16 KiB, so several metadata pieces are fetched.
  const spec = manyFiles('lt-magnet', 600);
  const f = await makeFixture(t, { name: 'lt-magnet', spec, seed: 'magnet-lt', pieceLength: PIECE });
  assert.ok(f.torrent.infoBytes.length > 32 * 1024, `info dict only ${f.torrent.infoBytes.length} bytes`);
  const tracker = await startOpentracker({ infoHashes: [f.made.infoHash] });
  t.after(() => tracker.stop());
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both'), trackers: [tracker.httpUrl] });
  t.after(() => seeder.stop());

  const magnet = formatMagnet({ infoHashHex: f.made.infoHash, name: 'lt-magnet', trackers: [tracker.httpUrl] });
  const out = path.join(f.dir, 'out');
  const saved = path.join(f.dir, 'saved.torrent');
  const r = await runPytor(['download', magnet, '-o', out, '--port', '0', '--bind', LOCAL, '--json', '--save-torrent', saved], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.infoHash, f.made.infoHash);
  assert.equal(s.complete, true);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);

  // The saved .torrent: same info dict bytes, same info-hash (by pytor's parser and libtorrent's).
  const bytes = await readFile(saved);
  const again = parseTorrent(bytes);
  assert.equal(again.infoHashHex, f.made.infoHash);
  assert.ok(again.infoBytes.equals(f.torrent.infoBytes));
  assert.equal(again.announce, tracker.httpUrl);
  const lt = await ltInfo(saved);
  assert.equal(lt.infoHash, f.made.infoHash);
  assert.deepEqual(lt.trackers.map((x) => x.url), [tracker.httpUrl]);
});

test('aria2 seeder, bittorrent-tracker: download a magnet link', { timeout: CASE_MS }, async (t) => {
  const spec: PayloadSpec = { files: [{ path: 'aria-magnet.bin', size: 5 * MiB + 4321 }] };
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());
  const f = await makeFixture(t, { name: 'aria-magnet.bin', spec, seed: 'magnet-aria', pieceLength: PIECE, trackers: [tracker.httpUrl] });
  const seeder = await startAria2Seeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both'), trackers: [tracker.httpUrl] });
  t.after(() => seeder.stop());

  const magnet = formatMagnet({ infoHashHex: f.made.infoHash, trackers: [tracker.httpUrl] });
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', magnet, '-o', out, '--port', '0', '--bind', LOCAL, '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.infoHash, f.made.infoHash);
  assert.equal(s.name, 'aria-magnet.bin');
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
});

test('libtorrent fetches the metadata from a pytor seeder given only a magnet link', { timeout: CASE_MS }, async (t) => {
  const spec = manyFiles('pytor-serves', 300);
  const f = await makeFixture(t, { name: 'pytor-serves', spec, seed: 'magnet-serve', pieceLength: PIECE });
  assert.ok(f.torrent.infoBytes.length > 16 * 1024);
  const seed = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.seedDir });
  t.after(async () => {
    await seed.interrupt();
  });
  const saveDir = path.join(f.dir, 'lt-out');
  await mkdir(saveDir, { recursive: true });
  // No tracker, no name: everything libtorrent learns of the torrent comes from pytor.
  const leecher = await startLibtorrentLeecher({
    magnet: formatMagnet({ infoHashHex: f.made.infoHash }),
    saveDir,
    port: await freePort('both'),
    peers: [{ host: LOCAL, port: seed.port }],
  });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(RUN_MS);
  assert.deepEqual(await verifyPayload(saveDir, spec, f.seed), []);
});
