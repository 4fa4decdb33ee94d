// `pytor daemon` driven by the real transmission-remote (Debian's transmission-cli 3.00) on
// loopback: add a .torrent and a magnet, list, details, files, stop/start, verify, remove with
// and without data; what it prints matches the daemon's own torrent-get. Then restarts: after
// SIGTERM (exit 0, quickly) and after SIGKILL every torrent is back with its id and state.
// No peers here (no trackers, --no-dht): transfers are in test/interop/daemon.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTorrent } from '../../src/metainfo/create.js';
import { runPytor } from '../helpers/cli.js';
import { makePayload } from '../interop/harness/payload.js';
import { field, parseList, startDaemon, TR_BIN, waitFor, type DaemonProc } from './daemon-proc.js';

const skip = existsSync(TR_BIN) ? false : 'transmission-remote (transmission-cli) is not installed';
const KiB = 1024;

interface Fixture {
  dir: string;
  state: string;
  downloads: string;
  home: string;
  alphaFile: string;
  alphaHash: string;
  betaFile: string;
  magnet: string;
  magnetHash: string;
}

/** alpha (multi-file, data present in the download folder), beta (single file, no data), a magnet with nobody to ask. */
async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-'));
  const downloads = path.join(dir, 'downloads');
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  await makePayload(path.join(downloads, 'alpha'), { files: [{ path: 'a.bin', size: 300 * KiB }, { path: 'sub/b.bin', size: 200 * KiB }] }, 'alpha');
  const alpha = await createTorrent(path.join(downloads, 'alpha'), { pieceLength: 32 * KiB, noDate: true });
  const alphaFile = path.join(dir, 'alpha.torrent');
  await writeFile(alphaFile, alpha.torrent);
  await makePayload(path.join(dir, 'elsewhere'), { files: [{ path: 'beta.bin', size: 100 * KiB }] }, 'beta');
  const beta = await createTorrent(path.join(dir, 'elsewhere', 'beta.bin'), { pieceLength: 16 * KiB, noDate: true });
  const betaFile = path.join(dir, 'beta.torrent');
  await writeFile(betaFile, beta.torrent);
  const magnetHash = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';
  return {
    dir,
    state: path.join(dir, 'state'),
    downloads,
    home,
    alphaFile,
    alphaHash: alpha.infoHashHex,
    betaFile,
    magnet: `magnet:?xt=urn:btih:${magnetHash}&dn=gamma`,
    magnetHash,
  };
}

const FIELDS = ['id', 'name', 'hashString', 'status', 'percentDone', 'rateDownload', 'rateUpload', 'eta', 'totalSize', 'haveValid', 'error', 'errorString'];

async function getAll(d: DaemonProc): Promise<Record<string, any>[]> {
  const r = await d.rpc('torrent-get', { fields: FIELDS });
  assert.equal(r.result, 'success');
  return r.arguments.torrents as Record<string, any>[];
}

async function byId(d: DaemonProc, id: number): Promise<Record<string, any>> {
  const t = (await getAll(d)).find((x) => x.id === id);
  assert.ok(t, `torrent ${id} is listed`);
  return t;
}

/** transmission-remote's Done column for a percentDone (it prints whole percents, rounded down: tr_truncd). */
function doneColumn(percentDone: number): string {
  return `${Math.floor(percentDone * 100)}%`;
}

test('transmission-remote drives pytor daemon: add, list, details, files, stop/start, verify, remove', { skip, timeout: 120_000 }, async (t) => {
  const f = await fixture();
  t.after(() => rm(f.dir, { recursive: true, force: true }));
  const d = await startDaemon({ stateDir: f.state, downloadDir: f.downloads, home: f.home });
  t.after(() => d.stop());

  // -a: a .torrent file and a magnet link.
  for (const source of [f.alphaFile, f.betaFile, f.magnet]) {
    const r = await d.tr('-a', source);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /responded: "success"/);
  }
  await waitFor('alpha checked and seeding', async () => (await byId(d, 1)).status === 6);

  // -l: what it prints is what torrent-get says.
  const listed = await d.tr('-l');
  assert.equal(listed.code, 0, listed.stderr);
  const rows = parseList(listed.stdout);
  const own = await getAll(d);
  assert.deepEqual(
    rows.map((r) => r.name),
    own.map((x) => x.name),
  );
  assert.deepEqual(
    rows.map((r) => Number(r.id)),
    [1, 2, 3],
  );
  const [alphaRow, betaRow, gammaRow] = rows as [Record<string, string>, Record<string, string>, Record<string, string>];
  const [alpha, beta, gamma] = own as [Record<string, any>, Record<string, any>, Record<string, any>];
  assert.equal(alpha.name, 'alpha');
  assert.equal(alpha.percentDone, 1);
  assert.equal(alphaRow.done, doneColumn(alpha.percentDone));
  assert.equal(alphaRow.status, 'Idle'); // seeding, nobody to upload to: Transmission's word for that
  assert.equal(alphaRow.eta, 'Done');
  assert.equal(alpha.hashString, f.alphaHash);
  assert.equal(beta.status, 4, 'beta: downloading (waiting for peers)');
  assert.equal(beta.percentDone, 0);
  assert.equal(betaRow.done, '0%');
  assert.equal(betaRow.eta, 'Unknown');
  assert.ok(beta.eta < 0, 'no ETA without a rate');
  assert.equal(betaRow.status, 'Idle');
  for (const [row, x] of [[alphaRow, alpha], [betaRow, beta]] as const) {
    assert.equal(Number(row.down), x.rateDownload / 1000, 'Down column is the daemon rate in kB/s');
    assert.equal(Number(row.up), x.rateUpload / 1000);
  }
  assert.equal(gamma.name, 'gamma');
  assert.equal(gamma.hashString, f.magnetHash);
  assert.equal(gammaRow.done, 'n/a', 'magnet without metadata: size unknown');

  // -i: details.
  const info = await d.tr('-t', '1', '-i');
  assert.equal(info.code, 0, info.stderr);
  assert.equal(field(info.stdout, 'Name'), 'alpha');
  assert.equal(field(info.stdout, 'Hash'), f.alphaHash);
  assert.equal(field(info.stdout, 'Percent Done'), '100%');
  assert.equal(field(info.stdout, 'Location'), f.downloads);
  assert.match(field(info.stdout, 'Total size'), /^512\.0 kB \(512\.0 kB wanted\)$/);
  assert.equal(field(info.stdout, 'State'), 'Idle');

  // -f: files.
  const files = await d.tr('-t', '1', '-f');
  assert.equal(files.code, 0, files.stderr);
  assert.match(files.stdout, /^alpha \(2 files\):/m);
  assert.match(files.stdout, /^\s+0: 100% Normal\s+Yes\s+307\.2 kB\s+alpha\/a\.bin$/m);
  assert.match(files.stdout, /^\s+1: 100% Normal\s+Yes\s+204\.8 kB\s+alpha\/sub\/b\.bin$/m);
  const betaFiles = await d.tr('-t', '2', '-f');
  assert.match(betaFiles.stdout, /^\s+0:\s+0% Normal\s+Yes\s+102\.4 kB\s+beta\.bin$/m);

  // -S / -s.
  assert.equal((await d.tr('-t', '1', '-S')).code, 0);
  assert.equal((await byId(d, 1)).status, 0);
  assert.equal(parseList((await d.tr('-l')).stdout)[0]!.status, 'Stopped');
  assert.equal((await d.tr('-t', '1', '-s')).code, 0);
  await waitFor('alpha seeding again', async () => (await byId(d, 1)).status === 6);
  assert.equal((await byId(d, 1)).percentDone, 1);

  // -v: damage one byte with the file's mtime kept, so only a real hash check can see it.
  const aBin = path.join(f.downloads, 'alpha', 'a.bin');
  const before = await stat(aBin);
  const fh = await open(aBin, 'r+');
  const original = Buffer.alloc(1);
  await fh.read(original, 0, 1, 40 * KiB);
  await fh.write(Buffer.from([original[0]! ^ 0xff]), 0, 1, 40 * KiB);
  await fh.close();
  await utimes(aBin, before.atime, before.mtime);
  assert.equal((await d.tr('-t', '1', '-v')).code, 0);
  await waitFor('the check finds the damaged piece', async () => {
    const x = await byId(d, 1);
    return x.status === 4 && x.haveValid === 500 * KiB - 32 * KiB;
  });

  // -G / -g: the file is unwanted (and stays so in the state folder), then wanted again.
  const unwanted = await d.tr('-t', '1', '-G', '0');
  assert.equal(unwanted.code, 0, unwanted.stdout + unwanted.stderr);
  assert.match((await d.tr('-t', '1', '-f')).stdout, /^\s+0:\s+\d+% Normal\s+No\s+307\.2 kB\s+alpha\/a\.bin$/m);
  assert.match((await d.tr('-t', '1', '-f')).stdout, /^\s+1:\s+\d+% Normal\s+Yes\s+204\.8 kB\s+alpha\/sub\/b\.bin$/m);
  assert.equal((await d.tr('-t', '1', '-g', '0')).code, 0);
  assert.match((await d.tr('-t', '1', '-f')).stdout, /^\s+0:\s+\d+% Normal\s+Yes\s+307\.2 kB\s+alpha\/a\.bin$/m);
  // Global speed limits are the engine's token buckets; per-torrent ones are not built: a clear refusal.
  assert.equal((await d.tr('-d', '100')).code, 0);
  assert.match((await d.tr('-si')).stdout, /Download speed limit: 100 kB\/s/);
  assert.equal((await d.tr('-D')).code, 0);
  const limited = await d.tr('-t', '1', '-d', '100');
  assert.match(limited.stdout + limited.stderr, /not supported yet/);
  assert.doesNotMatch(limited.stdout, /responded: "success"/);

  // -r keeps the data; --remove-and-delete deletes the torrent's own files only.
  await writeFile(path.join(f.downloads, 'alpha', 'notes.txt'), 'mine');
  await writeFile(path.join(f.downloads, 'keep.txt'), 'mine too');
  assert.equal((await d.tr('-t', '2', '-r')).code, 0);
  assert.equal((await d.tr('-t', '1', '--remove-and-delete')).code, 0);
  const left = await getAll(d);
  assert.deepEqual(
    left.map((x) => x.name),
    ['gamma'],
  );
  assert.equal(existsSync(aBin), false, 'alpha/a.bin deleted');
  assert.equal(existsSync(path.join(f.downloads, 'alpha', 'sub')), false, 'its emptied folder too');
  assert.equal(await readFile(path.join(f.downloads, 'alpha', 'notes.txt'), 'utf8'), 'mine', 'a file the torrent does not name stays');
  assert.equal(await readFile(path.join(f.downloads, 'keep.txt'), 'utf8'), 'mine too');
  assert.equal(existsSync(path.join(f.state, 'torrents', `${f.alphaHash}.torrent-entry`)), false, 'its state entry is gone');
  assert.equal(existsSync(path.join(f.state, 'resume', `${f.alphaHash}.resume`)), false, 'and its resume data');

  const stopped = await d.stop();
  assert.equal(stopped.code, 0);
});

test('pytor daemon restarts with every torrent as it was: after SIGTERM and after SIGKILL', { skip, timeout: 120_000 }, async (t) => {
  const f = await fixture();
  t.after(() => rm(f.dir, { recursive: true, force: true }));
  const first = await startDaemon({ stateDir: f.state, downloadDir: f.downloads, home: f.home });
  t.after(() => first.stop());
  for (const source of [f.alphaFile, f.betaFile, f.magnet]) assert.equal((await first.tr('-a', source)).code, 0);
  await waitFor('alpha seeding', async () => (await byId(first, 1)).status === 6);
  assert.equal((await first.tr('-t', '2', '-S')).code, 0);
  const expected = (await getAll(first)).map((x) => ({ id: x.id, name: x.name, hashString: x.hashString, status: x.status, percentDone: x.percentDone }));
  assert.deepEqual(
    expected.map((x) => x.status),
    [6, 0, 4],
    'seeding, stopped, downloading (the magnet fetching metadata counts as downloading)',
  );

  // SIGTERM: exits 0 within a few seconds.
  const t0 = Date.now();
  const exit = await first.stop(10_000);
  const ms = Date.now() - t0;
  assert.equal(exit.code, 0, first.proc.output());
  assert.ok(ms < 5_000, `stopped in ${ms} ms`);
  assert.match(first.proc.output(), /SIGTERM: stopping/);

  const second = await startDaemon({ stateDir: f.state, downloadDir: f.downloads, home: f.home });
  t.after(() => second.stop());
  await waitFor('alpha seeding after the restart', async () => (await byId(second, 1)).status === 6);
  const again = (await getAll(second)).map((x) => ({ id: x.id, name: x.name, hashString: x.hashString, status: x.status, percentDone: x.percentDone }));
  assert.deepEqual(again, expected);
  const rows = parseList((await second.tr('-l')).stdout);
  assert.deepEqual(
    rows.map((r) => [r.id, r.name, r.status]),
    [
      ['1', 'alpha', 'Idle'],
      ['2', 'beta.bin', 'Stopped'],
      ['3', 'gamma', 'Idle'],
    ],
  );
  // A new torrent takes the next id, not a reused one.
  await writeFile(path.join(f.dir, 'elsewhere', 'delta.bin'), Buffer.alloc(20 * KiB, 7));
  const delta = await createTorrent(path.join(f.dir, 'elsewhere', 'delta.bin'), { noDate: true });
  await writeFile(path.join(f.dir, 'delta.torrent'), delta.torrent);
  // --start-paused is a session setting (start-added-torrents) that transmission-remote sets first.
  assert.equal((await second.tr('--start-paused', '-a', path.join(f.dir, 'delta.torrent'))).code, 0);
  const withDelta = await getAll(second);
  assert.deepEqual(
    withDelta.map((x) => [x.id, x.name, x.status]),
    [
      [1, 'alpha', 6],
      [2, 'beta.bin', 0],
      [3, 'gamma', 4],
      [4, 'delta.bin', 0],
    ],
  );

  // SIGKILL: nothing saved at exit, yet everything comes back.
  await second.kill();
  const third = await startDaemon({ stateDir: f.state, downloadDir: f.downloads, home: f.home });
  t.after(() => third.stop());
  await waitFor('alpha seeding after SIGKILL', async () => (await byId(third, 1)).status === 6);
  assert.deepEqual(
    (await getAll(third)).map((x) => [x.id, x.name, x.status, x.percentDone]),
    [
      [1, 'alpha', 6, 1],
      [2, 'beta.bin', 0, 0],
      [3, 'gamma', 4, 0],
      [4, 'delta.bin', 0, 0],
    ],
  );
  assert.equal((await third.stop()).code, 0);
});

test('pytor daemon: --rpc-auth is required by transmission-remote; session-set download-dir and start-added-torrents survive a restart', { skip, timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-settings-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const state = path.join(dir, 'state');
  const d = await startDaemon({ stateDir: state, home, extra: ['--rpc-auth', 'alice:s3cret'] });
  t.after(() => d.stop());
  const denied = await d.tr('-l');
  assert.notEqual(denied.code, 0);
  assert.match(denied.stdout + denied.stderr, /401|Unauthorized/i);
  assert.notEqual((await d.tr('--auth', 'alice:wrong', '-l')).code, 0);
  const chosen = path.join(dir, 'chosen');
  const set = await d.tr('--auth', 'alice:s3cret', '--download-dir', chosen, '--start-paused');
  assert.equal(set.code, 0, set.stdout + set.stderr);
  assert.equal((await d.stop()).code, 0);

  const again = await startDaemon({ stateDir: state, home });
  t.after(() => again.stop());
  const session = await again.tr('-si');
  assert.equal(session.code, 0, session.stderr);
  assert.equal(field(session.stdout, 'Download directory'), chosen);
  const s = await again.rpc('session-get');
  assert.equal(s.arguments['download-dir'], chosen);
  assert.equal(s.arguments['start-added-torrents'], false);
  assert.equal((await again.stop()).code, 0);

  // The command line wins over the saved setting.
  const flagged = await startDaemon({ stateDir: state, home, downloadDir: path.join(dir, 'flag') });
  t.after(() => flagged.stop());
  assert.equal((await flagged.rpc('session-get')).arguments['download-dir'], path.join(dir, 'flag'));
  assert.equal((await flagged.stop()).code, 0);
});

test('pytor daemon refuses an RPC open to the network without a password, before listening', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-daemon-refuse-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await runPytor(['daemon', '--rpc-bind', '0.0.0.0', '--rpc-port', '0', '--port', '0', '--no-dht', '--state-dir', path.join(dir, 'state')], { timeoutMs: 15_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /binding 0\.0\.0\.0 exposes pytor to the network: set a user and password/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(path.join(dir, 'state')), false, 'the state folder untouched');
});
