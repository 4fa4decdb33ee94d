// pytor daemon downloading from a libtorrent seeder, driven by transmission-remote: a .torrent
// whose tracker is a loopback bittorrent-tracker the seeder announces to, and a magnet link
// whose x.pe names the seeder; the bytes match. Then SIGKILL mid-download (the seeder's upload
// limited so the download lasts): the restarted daemon has the torrent back and finishes
// without hashing the data again, measured in bytes read (/proc/<pid>/io, whose rchar counts
// socket reads too, so the bytes still to download are taken off).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { field, parseList, startDaemon, TR_BIN, waitFor, type DaemonProc } from '../daemon/daemon-proc.js';
import { makeTorrent, PYTHON, startLibtorrentSeeder } from './harness/libtorrent.js';
import { startLimitedSeeder } from './harness/libtorrent-limited.js';
import { makePayload, verifyPayload, type PayloadSpec } from './harness/payload.js';
import { freePort } from './harness/ports.js';
import { startBittorrentTracker } from './harness/trackers.js';

const MiB = 1 << 20;
const skip = !existsSync(TR_BIN) ? 'transmission-remote is not installed' : !existsSync(PYTHON) ? 'python3 is missing' : false;

async function torrentGet(d: DaemonProc, id: number, fields: string[]): Promise<Record<string, any>> {
  const r = await d.rpc('torrent-get', { ids: [id], fields });
  assert.equal(r.result, 'success');
  const t = r.arguments.torrents[0];
  assert.ok(t, `torrent ${id} exists`);
  return t;
}

test('pytor daemon downloads a .torrent (tracker) and a magnet (x.pe) from libtorrent; transmission-remote shows it', { skip, timeout: 240_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-interop-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tracker = await startBittorrentTracker({ interval: 2 });
  t.after(() => tracker.stop());

  const seedDir = path.join(dir, 'seed');
  const multi: PayloadSpec = { files: [{ path: 'one.bin', size: 5 * MiB + 123 }, { path: 'two/three.bin', size: 3 * MiB }] };
  const single: PayloadSpec = { files: [{ path: 'single.bin', size: 6 * MiB + 7 }] };
  await makePayload(path.join(seedDir, 'multi'), multi, 'daemon-multi');
  await makePayload(seedDir, single, 'daemon-single');
  const multiTorrent = path.join(dir, 'multi.torrent');
  const singleTorrent = path.join(dir, 'single.torrent');
  await makeTorrent({ dataPath: path.join(seedDir, 'multi'), pieceLength: 256 * 1024, trackers: [tracker.httpUrl], outFile: multiTorrent });
  const singleMade = await makeTorrent({ dataPath: path.join(seedDir, 'single.bin'), pieceLength: 256 * 1024, outFile: singleTorrent });

  const seederPort = await freePort();
  const seederMulti = await startLibtorrentSeeder({ torrentFile: multiTorrent, dataDir: seedDir, port: seederPort });
  t.after(() => seederMulti.stop());
  const seederSinglePort = await freePort();
  const seederSingle = await startLibtorrentSeeder({ torrentFile: singleTorrent, dataDir: seedDir, port: seederSinglePort });
  t.after(() => seederSingle.stop());

  const downloads = path.join(dir, 'downloads');
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const d = await startDaemon({ stateDir: path.join(dir, 'state'), downloadDir: downloads, home });
  t.after(() => d.stop());

  assert.equal((await d.tr('-a', multiTorrent)).code, 0);
  const magnet = `magnet:?xt=urn:btih:${singleMade.infoHash}&dn=single.bin&x.pe=127.0.0.1:${seederSinglePort}`;
  const added = await d.tr('-a', magnet);
  assert.equal(added.code, 0, added.stderr);

  await waitFor(
    'both torrents complete',
    async () => {
      const r = await d.rpc('torrent-get', { fields: ['id', 'percentDone', 'status'] });
      return r.arguments.torrents.length === 2 && r.arguments.torrents.every((x: any) => x.percentDone === 1 && x.status === 6);
    },
    180_000,
  );
  assert.deepEqual(await verifyPayload(path.join(downloads, 'multi'), multi, 'daemon-multi'), []);
  assert.deepEqual(await verifyPayload(downloads, single, 'daemon-single'), []);

  const rows = parseList((await d.tr('-l')).stdout);
  assert.deepEqual(
    rows.map((r) => [r.id, r.done, r.eta, r.name]),
    [
      ['1', '100%', 'Done', 'multi'],
      ['2', '100%', 'Done', 'single.bin'],
    ],
  );
  for (const r of rows) assert.ok(['Idle', 'Seeding'].includes(r.status!), `seeding torrents show ${r.status}`);
  const info = await d.tr('-t', '2', '-i');
  assert.equal(field(info.stdout, 'Name'), 'single.bin');
  assert.equal(field(info.stdout, 'Hash'), singleMade.infoHash);
  assert.equal(field(info.stdout, 'Percent Done'), '100%');
  const multiInfo = await torrentGet(d, 1, ['downloadedEver', 'sizeWhenDone', 'doneDate', 'trackerStats']);
  assert.ok(multiInfo.downloadedEver >= 8 * MiB, `downloadedEver ${multiInfo.downloadedEver}`);
  assert.ok(multiInfo.doneDate > 0, 'doneDate set');
  assert.equal(multiInfo.trackerStats[0]?.announce, tracker.httpUrl);
  const multiHash = (await torrentGet(d, 1, ['hashString'])).hashString as string;
  assert.ok(tracker.peers(multiHash).includes(`127.0.0.1:${d.peerPort}`), 'the daemon announced itself');
  // SIGTERM: the tracker hears `stopped` and forgets the daemon; exit 0.
  assert.equal((await d.stop()).code, 0);
  assert.ok(!tracker.peers(multiHash).includes(`127.0.0.1:${d.peerPort}`), `the tracker forgot the daemon: ${tracker.peers(multiHash).join(' ')}`);

  // Restart with the magnet's seeder gone: its metadata was kept in the state folder, so it
  // comes back complete and seeding, as does the other.
  await seederSingle.stop();
  const again = await startDaemon({ stateDir: path.join(dir, 'state'), downloadDir: downloads, home });
  t.after(() => again.stop());
  await waitFor('both seeding again', async () => {
    const r = await again.rpc('torrent-get', { fields: ['id', 'name', 'percentDone', 'status'] });
    return r.arguments.torrents.length === 2 && r.arguments.torrents.every((x: any) => x.percentDone === 1 && x.status === 6);
  });
  assert.deepEqual(
    parseList((await again.tr('-l')).stdout).map((r) => [r.id, r.done, r.name]),
    [
      ['1', '100%', 'multi'],
      ['2', '100%', 'single.bin'],
    ],
  );
  assert.equal((await again.stop()).code, 0);
});

test('pytor daemon killed mid-download (SIGKILL) resumes after a restart without hashing the data again', { skip, timeout: 300_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-kill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tracker = await startBittorrentTracker({ interval: 2 });
  t.after(() => tracker.stop());
  const SIZE = 64 * MiB;
  const spec: PayloadSpec = { files: [{ path: 'big.bin', size: SIZE }] };
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, spec, 'daemon-kill');
  const torrentFile = path.join(dir, 'big.torrent');
  await makeTorrent({ dataPath: path.join(seedDir, 'big.bin'), pieceLength: 256 * 1024, trackers: [tracker.httpUrl], outFile: torrentFile });
  // 4 MiB/s: about 16 s for the whole, so the kill lands in the middle.
  const seeder = await startLimitedSeeder({ torrentFile, dataDir: seedDir, port: await freePort(), uploadRateLimit: 4 * MiB });
  t.after(() => seeder.stop());

  const downloads = path.join(dir, 'downloads');
  const state = path.join(dir, 'state');
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const first = await startDaemon({ stateDir: state, downloadDir: downloads, home });
  t.after(() => first.stop());
  assert.equal((await first.tr('-a', torrentFile)).code, 0);
  // Past a resume save (every 5 s) and well short of the end.
  let haveAtKill = 0;
  await waitFor(
    'a third downloaded',
    async () => {
      haveAtKill = (await torrentGet(first, 1, ['haveValid'])).haveValid;
      return haveAtKill >= SIZE / 3;
    },
    120_000,
  );
  // Mid-download, transmission-remote's list agrees with the daemon's own view, read just before.
  const own = await torrentGet(first, 1, ['percentDone', 'rateDownload', 'eta', 'status', 'peersConnected', 'peersSendingToUs']);
  const row = parseList((await first.tr('-l')).stdout)[0]!;
  assert.equal(own.status, 4);
  assert.ok(own.peersConnected >= 1 && own.peersSendingToUs >= 1, JSON.stringify(own));
  assert.equal(row.status, 'Downloading');
  assert.ok(Math.abs(parseInt(row.done!, 10) - own.percentDone * 100) <= 5, `Done ${row.done} against ${own.percentDone}`);
  const down = Number(row.down);
  assert.ok(down > own.rateDownload / 1000 / 2 && down < (own.rateDownload / 1000) * 2, `Down ${down} kB/s against ${own.rateDownload} B/s`);
  assert.ok(own.eta > 0, `eta ${own.eta}`);
  assert.match(row.eta!, /^\d+ (sec|min)$/, `ETA column ${row.eta}`);
  const details = await first.tr('-t', '1', '-i');
  assert.match(field(details.stdout, 'Peers'), /^connected to [1-9]\d*, uploading to \d+, downloading from [1-9]/);
  await new Promise((r) => setTimeout(r, 5_500));
  haveAtKill = (await torrentGet(first, 1, ['haveValid'])).haveValid;
  assert.ok(haveAtKill < SIZE, 'still downloading at the kill');
  await first.kill();

  const second = await startDaemon({ stateDir: state, downloadDir: downloads, home });
  t.after(() => second.stop());
  const readAtStart = second.readBytes();
  const back = await torrentGet(second, 1, ['name', 'status', 'haveValid', 'percentDone']);
  assert.equal(back.name, 'big.bin');
  await waitFor('the check of existing data done', async () => (await torrentGet(second, 1, ['status'])).status !== 2, 60_000);
  const resumed = await torrentGet(second, 1, ['haveValid']);
  // Everything the last resume save (at most 5 s before the kill) vouched for is trusted.
  assert.ok(resumed.haveValid >= haveAtKill - 5 * 4 * MiB - MiB, `after the restart ${resumed.haveValid} bytes held, ${haveAtKill} at the kill`);
  await waitFor('the download complete', async () => (await torrentGet(second, 1, ['percentDone'])).percentDone === 1, 120_000);
  const read = second.readBytes() - readAtStart;
  t.diagnostic(`held at kill ${haveAtKill}, trusted after restart ${resumed.haveValid}, bytes read after the ready line ${read}`);
  // rchar counts socket reads too: the bytes still to download arrive through read(2). Beyond
  // them, a rehash would read every trusted byte again; the daemon reads far less than that.
  const beyondDownload = read - (SIZE - resumed.haveValid);
  assert.ok(beyondDownload < resumed.haveValid / 4, `read ${read} bytes: ${beyondDownload} beyond the ${SIZE - resumed.haveValid} downloaded, against ${resumed.haveValid} trusted`);
  assert.deepEqual(await verifyPayload(downloads, spec, 'daemon-kill'), []);
  assert.equal((await second.stop()).code, 0);
});
