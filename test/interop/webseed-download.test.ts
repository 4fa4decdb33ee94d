// `pytor download` with BEP 19 web seeds: the Range-capable test server alone (no peers, no
// tracker), single- and multi-file, with --json-events; then bad web seeds (wrong bytes, 500s,
// no Range) beside a good libtorrent peer: the download completes, every bad seed is dropped
// with a warning, and no peer is blamed for their bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseTorrent } from '../../src/metainfo/index.js';
import { PYTOR_ENTRY, runPytor } from '../helpers/cli.js';
import { startRangeServer, type RangeServer, type ServerMode } from '../webseed/range-server.js';
import { makeTorrent, startLibtorrentSeeder } from './harness/libtorrent.js';
import { verifyPayload, type PayloadSpec } from './harness/payload.js';
import { freePort } from './harness/ports.js';
import { LOCAL, MiB, makeFixture, parseSummary } from './pytor-helpers.js';

const CASE_MS = 150_000;
const RUN_MS = 120_000;
const run = promisify(execFile);

/** Every file of the payload under `seedDir`, served at /pub/<relative path>. */
async function serveFolder(seedDir: string, spec: PayloadSpec): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const f of spec.files) files.set(`/pub/${f.path}`, await readFile(path.join(seedDir, f.path)));
  return files;
}

interface EventLine {
  event: string;
  time: string;
  [k: string]: unknown;
}

/** Every stdout line must be one JSON object with `event` and `time`. */
function parseEvents(stdout: string): EventLine[] {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  return lines.map((l) => {
    const e = JSON.parse(l) as EventLine;
    assert.equal(typeof e.event, 'string', l);
    assert.ok(!Number.isNaN(Date.parse(e.time)), `bad time in ${l}`);
    return e;
  });
}

test('single-file torrent made by `pytor create --web-seed`: downloads from the web seed alone, --json-events', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'ws.bin', spec: { files: [{ path: 'ws.bin', size: 6 * MiB + 12345 }] }, seed: 'ws-single', pieceLength: 256 * 1024 });
  const server = await startRangeServer(await serveFolder(f.seedDir, f.spec));
  t.after(() => server.close());
  const torrentFile = path.join(f.dir, 'made-by-pytor.torrent');
  await run(process.execPath, [PYTOR_ENTRY, 'create', path.join(f.seedDir, 'ws.bin'), '-o', torrentFile, '--web-seed', `${server.origin}/pub/ws.bin`], { timeout: 60_000 });
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', torrentFile, '-o', out, '--no-trackers', '--port', '0', '--json-events'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  const events = parseEvents(r.stdout);
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'started');
  assert.ok(names.includes('metadata'));
  // The last word is `stopped`, right after `complete` (the download ends there without --seed).
  assert.deepEqual(names.slice(-2), ['complete', 'stopped']);
  const stopped = events.at(-1)!;
  assert.equal(stopped.reason, 'complete');
  assert.equal(stopped.verified, f.spec.files[0]!.size);
  assert.ok(server.requests.length > 0 && server.requests.every((q) => q.startsWith('/pub/ws.bin bytes=')), server.requests.slice(0, 3).join('\n'));
  // Keep-alive: far fewer connections than requests.
  assert.ok(server.connections() < server.requests.length / 4, `${server.connections()} connections for ${server.requests.length} requests`);
});

test('multi-file torrent with a url-list folder: downloads from the web seed alone', { timeout: CASE_MS }, async (t) => {
  const spec: PayloadSpec = {
    files: [
      { path: 'album/a.bin', size: 1 * MiB + 5 },
      { path: 'album/sub dir/b #2.bin', size: 3 * MiB + 77_777 },
      { path: 'album/c.txt', size: 999 },
      { path: 'album/d.bin', size: 2 * MiB },
    ],
  };
  const f = await makeFixture(t, { name: 'album', spec, seed: 'ws-multi', pieceLength: 64 * 1024 });
  const server = await startRangeServer(await serveFolder(f.seedDir, spec));
  t.after(() => server.close());
  const torrentFile = path.join(f.dir, 'ws-album.torrent');
  await makeTorrent({ dataPath: path.join(f.seedDir, 'album'), pieceLength: 64 * 1024, outFile: torrentFile, webSeeds: [`${server.origin}/pub/`] });
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', torrentFile, '-o', out, '--no-trackers', '--port', '0', '--json'], { timeoutMs: RUN_MS });
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.equal(s.hashFailures, 0);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
  // Percent-encoded paths reached the server.
  assert.ok(server.requests.some((q) => q.startsWith('/pub/album/sub%20dir/b%20%232.bin ')));
});

test('bad web seeds (wrong bytes, 500s, no Range) beside a good libtorrent peer: completes, each bad seed dropped, no peer blamed', { timeout: CASE_MS }, async (t) => {
  const size = 24 * MiB + 4321;
  const f = await makeFixture(t, { name: 'mixed.bin', spec: { files: [{ path: 'mixed.bin', size }] }, seed: 'ws-bad', pieceLength: 256 * 1024 });
  const files = await serveFolder(f.seedDir, f.spec);
  const servers: Record<string, RangeServer> = {};
  for (const mode of ['wrong-bytes', 'status-500', 'ignore-range'] as ServerMode[]) {
    servers[mode] = await startRangeServer(files, mode);
    t.after(() => servers[mode]!.close());
  }
  const torrentFile = path.join(f.dir, 'mixed-ws.torrent');
  await makeTorrent({
    dataPath: path.join(f.seedDir, 'mixed.bin'),
    pieceLength: 256 * 1024,
    outFile: torrentFile,
    webSeeds: Object.values(servers).map((s) => `${s.origin}/pub/mixed.bin`),
  });
  assert.equal(parseTorrent(await readFile(torrentFile)).urlList.length, 3);
  const seeder = await startLibtorrentSeeder({ torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  // Slow enough (about 20 s at 1.2 MiB/s) that the 500 seed reaches its fifth failure in a row.
  const r = await runPytor(
    ['download', torrentFile, '-o', out, '--no-trackers', '--port', '0', '--peer', `${LOCAL}:${seeder.port}`, '--limit-down', '1.2M', '--json'],
    { timeoutMs: RUN_MS },
  );
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  const s = parseSummary(r.stdout, r.stderr);
  assert.equal(s.complete, true);
  assert.equal(s.hashFailures, 0, 'bad web-seed bytes were counted against peers');
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  for (const [mode, server] of Object.entries(servers)) {
    assert.match(r.stderr, new RegExp(`web seed ${server.origin.replace(/[.:/]/g, '\\$&')}/pub/mixed\\.bin dropped`), `${mode} seed not dropped:\n${r.stderr}`);
    assert.ok(server.requests.length > 0, `${mode} seed never asked`);
  }
  // Nothing under out/ but the file: no part file, nothing else.
  assert.deepEqual(await readdir(out), ['mixed.bin']);
});

test('a web seed that stalls holds up nothing: in endgame the libtorrent peer fetches the piece the seed holds', { timeout: CASE_MS }, async (t) => {
  const size = 8 * MiB;
  const f = await makeFixture(t, { name: 'stall.bin', spec: { files: [{ path: 'stall.bin', size }] }, seed: 'ws-stall', pieceLength: 256 * 1024 });
  // Answers 206 and its headers, then nothing: the seed's idle timeout (20 s) would end it.
  const stall = await startRangeServer(await serveFolder(f.seedDir, f.spec), 'stall');
  t.after(() => stall.close());
  const torrentFile = path.join(f.dir, 'stall-ws.torrent');
  await makeTorrent({ dataPath: path.join(f.seedDir, 'stall.bin'), pieceLength: 256 * 1024, outFile: torrentFile, webSeeds: [`${stall.origin}/pub/stall.bin`] });
  const seeder = await startLibtorrentSeeder({ torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  const t0 = Date.now();
  const r = await runPytor(['download', torrentFile, '-o', out, '--no-trackers', '--port', '0', '--peer', `${LOCAL}:${seeder.port}`, '--json'], { timeoutMs: RUN_MS });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.equal(parseSummary(r.stdout, r.stderr).complete, true);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  assert.ok(stall.requests.length > 0, 'the stalling seed was given a piece');
  // Without endgame for claimed pieces the run waits out the 20 s idle timeout of the stalled
  // request; 8 MiB from a loopback peer takes about a second, so half of it is a wide margin.
  assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s: the stalled seed's piece waited for its timeout`);
  assert.doesNotMatch(r.stderr, /dropped/, 'the seed never timed out, so it was never dropped');
});
