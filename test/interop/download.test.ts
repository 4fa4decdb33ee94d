// `pytor download` against real seeders on loopback: libtorrent, Transmission and aria2, each
// alone and all three at once, found by --peer or by a loopback tracker; a multi-file
// torrent with awkward geometry; the --json summary and the exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import http from 'node:http';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { runPytor } from '../helpers/cli.js';
import { freePort } from './harness/ports.js';
import { verifyPayload, type PayloadSpec } from './harness/payload.js';
import { ltInfo, startLibtorrentSeeder } from './harness/libtorrent.js';
import { startTransmissionSeeder } from './harness/transmission.js';
import { startAria2Seeder } from './harness/aria2.js';
import { startOpentracker, startBittorrentTracker } from './harness/trackers.js';
import { pollUntil } from './harness/process.js';
import { LOCAL, MiB, makeFixture, parseSummary, startThrottleProxy } from './pytor-helpers.js';

const CASE_MS = 150_000;
const RUN_MS = 120_000;
const PIECE = 256 * 1024;

/** A single-file payload with a short last piece. */
function singleFile(name: string, size = 12 * MiB + 777): PayloadSpec {
  return { files: [{ path: name, size }] };
}

/** A port nothing listens on: bound-free now, and a tracker there gets "connection refused". */
async function deadTrackerUrl(): Promise<string> {
  return `http://${LOCAL}:${await freePort('tcp')}/announce`;
}

function assertNoEscapes(stdout: string): void {
  assert.ok(!stdout.includes('\x1b'), `escape codes in non-terminal output: ${JSON.stringify(stdout.slice(0, 400))}`);
}

test('libtorrent seeder via --peer while the torrent\'s only tracker is dead; --json summary', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'lt.bin', spec: singleFile('lt.bin'), seed: 'dl-lt', pieceLength: PIECE, trackers: [await deadTrackerUrl()] });
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  // Trackers stay on: the dead one must not keep pytor from using the peer it was given.
  const r = await runPytor(['download', f.torrentFile, '-o', out, '--peer', `${LOCAL}:${seeder.port}`, '--port', '0', '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  assertNoEscapes(r.stdout);
  const s = parseSummary(r.stdout, r.stderr);
  const size = f.spec.files[0]!.size;
  assert.deepEqual(
    Object.keys(s).filter((k) => ['infoHash', 'name', 'output', 'complete', 'interrupted', 'length', 'verified', 'downloaded', 'uploaded', 'seconds', 'averageRate', 'hashFailures'].includes(k)).sort(),
    ['averageRate', 'complete', 'downloaded', 'hashFailures', 'infoHash', 'interrupted', 'length', 'name', 'output', 'seconds', 'uploaded', 'verified'],
  );
  assert.equal(s.infoHash, f.made.infoHash);
  assert.equal(s.name, 'lt.bin');
  assert.equal(s.output, out);
  assert.equal(s.complete, true);
  assert.equal(s.interrupted, false);
  assert.equal(s.length, size);
  assert.equal(s.verified, size);
  assert.ok(s.downloaded >= size, `downloaded ${s.downloaded} < ${size}`);
  assert.equal(typeof s.uploaded, 'number');
  assert.ok(s.seconds > 0);
  assert.ok(s.averageRate > 0);
  assert.equal(s.hashFailures, 0);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const up = (await seeder.stats()).uploaded;
  assert.ok(up >= size, `libtorrent uploaded ${up} < ${size}`);
});

test('transmission seeder alone (--peer, --no-trackers); plain-text output', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'tr.bin', spec: singleFile('tr.bin'), seed: 'dl-tr', pieceLength: PIECE });
  const seeder = await startTransmissionSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', f.torrentFile, '-o', out, '--peer', `${LOCAL}:${seeder.port}`, '--no-trackers', '--port', '0'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  assertNoEscapes(r.stdout);
  assert.match(r.stdout, /tr\.bin: complete/);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const size = f.spec.files[0]!.size;
  // Transmission updates its counter on its own clock: wait for it rather than read it once.
  const ok = await pollUntil(async () => (await seeder.stats()).uploaded >= size, 10_000, 200);
  assert.ok(ok, `transmission uploaded: ${JSON.stringify(await seeder.stats())}`);
});

test('aria2c seeder alone (--peer, --no-trackers)', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'a2.bin', spec: singleFile('a2.bin'), seed: 'dl-a2', pieceLength: PIECE });
  const seeder = await startAria2Seeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('tcp') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', f.torrentFile, '-o', out, '--peer', `${LOCAL}:${seeder.port}`, '--no-trackers', '--port', '0', '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const size = f.spec.files[0]!.size;
  const ok = await pollUntil(async () => (await seeder.stats()).uploaded >= size, 10_000, 200);
  assert.ok(ok, `aria2 uploaded: ${JSON.stringify(await seeder.stats())}`);
});

test('libtorrent + transmission + aria2 together, all found through opentracker', { timeout: CASE_MS }, async (t) => {
  const ot = await startOpentracker({ host: LOCAL });
  t.after(() => ot.stop());
  const size = 16 * MiB + 4321;
  // The seeders get the torrent without a tracker, pytor gets it with one (same info-hash):
  // the tracker then lists only the throttled proxy ports the test announces for them.
  const f = await makeFixture(t, { name: 'swarm.bin', spec: singleFile('swarm.bin', size), seed: 'dl-all', pieceLength: PIECE });
  const pytorTorrent = path.join(f.dir, 'swarm-tracked.torrent');
  await withAnnounce(f.torrentFile, ot.httpUrl, pytorTorrent);
  await ot.allow([f.made.infoHash]);
  const lt = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => lt.stop());
  const tr = await startTransmissionSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => tr.stop());
  const a2 = await startAria2Seeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('tcp') });
  t.after(() => a2.stop());
  // libtorrent and aria2 alone would finish before Transmission's first rechoke (~10 s)
  // unchokes us; slowed down, every one of the three has to serve part of the payload.
  const proxies = {
    libtorrent: await startThrottleProxy(lt.port, 384 * 1024),
    aria2: await startThrottleProxy(a2.port, 384 * 1024),
    transmission: await startThrottleProxy(tr.port, 4 * MiB),
  };
  for (const p of Object.values(proxies)) t.after(() => p.stop());
  let listed: string[] = [];
  for (const [i, p] of Object.values(proxies).entries()) listed = await announceTo(ot.httpUrl, f.made.infoHash, p.port, i);
  assert.equal(listed.length, 3, `opentracker lists: ${JSON.stringify(listed)}`);

  const out = path.join(f.dir, 'out');
  // No --peer: every seeder is known only from the tracker. The session log says whom we met.
  const r = await runPytor(['download', pytorTorrent, '-o', out, '--port', '0', '--json'], { timeoutMs: RUN_MS, env: { DEBUG: 'pytor:session' } });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr.slice(-4000)}`);
  assert.equal(parseSummary(r.stdout, r.stderr).complete, true);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  for (const [who, p] of Object.entries(proxies)) {
    assert.ok(r.stderr.includes(`${LOCAL}:${p.port} ready`), `pytor never completed a handshake with ${who} (${p.port})\n${r.stderr.slice(-4000)}`);
  }
  const up = { libtorrent: (await lt.stats()).uploaded, transmission: (await tr.stats()).uploaded, aria2: (await a2.stats()).uploaded };
  t.diagnostic(`uploaded: ${JSON.stringify(up)}`);
  for (const [who, n] of Object.entries(up)) assert.ok(n > 0, `${who} sent nothing: ${JSON.stringify(up)}`);
  assert.ok(up.libtorrent + up.transmission + up.aria2 >= size, `seeders uploaded ${JSON.stringify(up)} < ${size}`);
});

test('multi-file 64+ MiB torrent: nested folders, odd sizes, an empty file, pieces across files, via bittorrent-tracker (UDP)', { timeout: CASE_MS }, async (t) => {
  const bt = await startBittorrentTracker();
  t.after(() => bt.stop());
  const spec: PayloadSpec = {
    files: [
      { path: 'multi/a.bin', size: 10 * MiB + 12_345 },
      { path: 'multi/empty.txt', size: 0 },
      { path: 'multi/d1/tiny.txt', size: 17 },
      { path: 'multi/d1/d2/b.bin', size: 21 * MiB + 333 },
      { path: 'multi/d1/d2/d3/c.bin', size: 33 * MiB - 5 },
      { path: 'multi/z.bin', size: 100_001 },
    ],
  };
  const f = await makeFixture(t, { name: 'multi', spec, seed: 'dl-multi', pieceLength: PIECE, trackers: [bt.udpUrl] });
  const total = spec.files.reduce((n, x) => n + x.size, 0);
  assert.ok(total >= 64 * MiB);
  // The geometry this test is about: no pad files, a short last piece, pieces spanning files.
  const info = await ltInfo(f.torrentFile);
  assert.ok(info.files.every((x) => !x.pad), 'libtorrent added pad files');
  assert.ok(info.files.some((x) => x.size === 0), 'the empty file is not in the torrent');
  assert.notEqual(total % PIECE, 0);
  assert.ok(f.torrent.files.some((x) => x.length > 0 && x.offset % PIECE !== 0), 'no piece crosses a file boundary');

  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const listed = await pollUntil(() => bt.peers(f.made.infoHash).includes(`${LOCAL}:${seeder.port}`), 20_000, 100);
  assert.ok(listed, `tracker peers: ${JSON.stringify(bt.peers(f.made.infoHash))}`);
  // What the tracker hears from pytor (peer ids -PT...): started, completed, then stopped as it
  // exits; the completed announce must not be cut short by the stopped one.
  const heard: string[] = [];
  for (const event of ['start', 'update', 'complete', 'stop']) {
    bt.server.on(event, (_addr: string, params: { peer_id?: string }) => {
      if (Buffer.from(params.peer_id ?? '', 'hex').toString('latin1').startsWith('-PT')) heard.push(event);
    });
  }
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', f.torrentFile, '-o', out, '--port', '0', '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(heard, ['start', 'complete', 'stop']);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.equal(s.verified, total);
  assert.equal(s.length, total);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
  assert.equal((await stat(path.join(out, 'multi', 'empty.txt'))).size, 0);
});

/**
 * Announces a seeder at 127.0.0.1:port (a distinct peer id per `n`) and returns the peers
 * the tracker lists for the info-hash (compact form).
 */
async function announceTo(announceUrl: string, infoHashHex: string, port: number, n: number): Promise<string[]> {
  const ih = infoHashHex.replace(/../g, (b) => '%' + b);
  const peerId = `-PT0000-seeder${String(n).padStart(6, '0')}`;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const url = `${announceUrl}?info_hash=${ih}&peer_id=${peerId}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1&event=started`;
    // A fresh socket each time: opentracker closes after answering, and a reused keep-alive
    // socket would fail the next announce with 'socket hang up'.
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error('tracker timeout')));
    req.on('error', reject);
  });
  const at = body.indexOf('5:peers');
  const m = at < 0 ? null : /^5:peers(\d+):/.exec(body.subarray(at, at + 20).toString('latin1'));
  if (!m) throw new Error(`tracker answer without compact peers: ${body.toString('latin1')}`);
  const bytes = body.subarray(at + m[0].length, at + m[0].length + Number(m[1]));
  const out: string[] = [];
  for (let i = 0; i + 6 <= bytes.length; i += 6) out.push(`${bytes[i]}.${bytes[i + 1]}.${bytes[i + 2]}.${bytes[i + 3]}:${bytes.readUInt16BE(i + 4)}`);
  return out;
}

/**
 * Copies a tracker-less .torrent with an `announce` key added. `announce` sorts before every
 * other top-level key libtorrent writes, so it goes first and the info dict (and its hash)
 * stays byte for byte the same.
 */
async function withAnnounce(torrentFile: string, url: string, outFile: string): Promise<void> {
  const src = await readFile(torrentFile);
  assert.equal(src[0], 0x64); // 'd'
  assert.ok(!src.includes('8:announce'), 'the source torrent already has a tracker');
  const key = Buffer.from(`8:announce${Buffer.byteLength(url)}:${url}`, 'latin1');
  await writeFile(outFile, Buffer.concat([src.subarray(0, 1), key, src.subarray(1)]));
}
