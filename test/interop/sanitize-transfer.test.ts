// The sanitized cases of the edge-case corpus, downloaded for real: a libtorrent seeder (its
// data laid out under libtorrent's own sanitized names) serves each one to `pytor download`;
// every file must land inside -o, byte-identical, under the safe path `pytor info` shows, with
// nothing else created (no pad files, no symlinks, nothing beside -o). Then `pytor seed` serves
// the same folder back to a libtorrent leecher, which checks every piece.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseTorrent } from '../../src/metainfo/index.js';
import { runPytor } from '../helpers/cli.js';
import { makeSanitizeCorpus } from '../metainfo/sanitize-corpus.js';
import { PYTHON, PY_DIR, startLibtorrentLeecher, startLibtorrentSeeder } from './harness/libtorrent.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { startPytorSeed } from './pytor-procs.js';
import { spawnPytor } from './pytor-helpers.js';
import { pollUntil } from './harness/process.js';

const run = promisify(execFile);
const CASE_MS = 90_000;
const RUN_MS = 60_000;

/** Every entry below `dir`, relative, '/'-joined; symlinks and other non-files reported as such. */
async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else if (e.isFile()) out.push(r);
    else out.push(`${r} (not a regular file)`);
  }
  return out;
}

for (const c of makeSanitizeCorpus().filter((x) => x.transfer)) {
  test(`${c.id}: ${c.what}: download from libtorrent, seed back to libtorrent`, { timeout: CASE_MS }, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pytor-sanitize-dl-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const torrentFile = path.join(dir, 'case.torrent');
    const streamFile = path.join(dir, 'case.stream');
    await writeFile(torrentFile, c.torrent);
    await writeFile(streamFile, c.stream);
    const ltSeedDir = path.join(dir, 'lt-seed');
    await mkdir(ltSeedDir);
    await run(PYTHON, [path.join(PY_DIR, 'lt_layout.py'), torrentFile, streamFile, ltSeedDir]);

    const seeder = await startLibtorrentSeeder({ torrentFile, dataDir: ltSeedDir, port: await freePort('both') });
    t.after(() => seeder.stop());
    // -o lies inside a sandbox folder that must hold nothing else afterwards.
    const sandbox = path.join(dir, 'sandbox');
    const out = path.join(sandbox, 'out');
    await mkdir(sandbox);
    const r = await runPytor(['download', torrentFile, '-o', out, '--peer', `${LOOPBACK}:${seeder.port}`, '--no-trackers', '--port', '0', '--json'], { timeoutMs: RUN_MS });
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    await seeder.stop();

    const torrent = parseTorrent(c.torrent);
    const expected = new Map<string, Buffer>();
    for (const f of torrent.files) {
      if (f.padding) continue;
      const rel = (torrent.multiFile ? [torrent.name, ...f.path] : [torrent.name]).join('/');
      expected.set(rel, c.stream.subarray(f.offset, f.offset + f.length));
    }
    assert.deepEqual(await readdir(sandbox), ['out'], 'something was written beside -o');
    assert.deepEqual(await readdir(dir).then((n) => n.sort()), ['case.stream', 'case.torrent', 'lt-seed', 'sandbox']);
    assert.deepEqual((await walk(out)).sort(), [...expected.keys()].sort(), 'exactly the data files, at their safe paths');
    for (const [rel, bytes] of expected) {
      assert.ok((await lstat(path.join(out, rel))).isFile(), rel);
      assert.ok((await readFile(path.join(out, rel))).equals(bytes), `${rel}: bytes differ`);
    }
    // The paths `pytor info --json` shows are the ones written.
    const info = await runPytor(['info', '--json', torrentFile]);
    const j = JSON.parse(info.stdout) as { name: string; files: { path: string; padding: boolean }[] };
    const shown = j.files.filter((f) => !f.padding).map((f) => (torrent.multiFile ? `${j.name}/${f.path}` : j.name));
    assert.deepEqual(shown.sort(), [...expected.keys()].sort());

    // Seed the same folder back: the same mapping finds the same files.
    const pytorSeed = await startPytorSeed({ torrentFile, dir: out, extra: ['--no-trackers'] });
    t.after(() => pytorSeed.proc.stop());
    const leechDir = path.join(dir, 'lt-leech');
    const leecher = await startLibtorrentLeecher({ torrentFile, saveDir: leechDir, port: await freePort('both'), peers: [{ host: LOOPBACK, port: pytorSeed.port }] });
    t.after(() => leecher.stop());
    await leecher.waitForComplete(RUN_MS);
    await leecher.stop();
    assert.equal((await pytorSeed.interrupt()).code, 130, pytorSeed.proc.output());
  });
}

// The committed unsafe fixtures (fake piece hashes: nothing can complete) and the corpus cases no
// real seeder opens: `pytor download` creates their files, at the safe paths and only inside -o,
// before any peer answers; Ctrl-C then ends it cleanly.
const UNSAFE = path.join(process.cwd(), 'test', 'fixtures', 'unsafe');
const placedOnly: [string, () => Promise<Buffer>][] = [
  ...makeSanitizeCorpus().filter((x) => x.pytor === 'open' && !x.transfer).map((x): [string, () => Promise<Buffer>] => [x.id, () => Promise.resolve(x.torrent)]),
];
for (const n of existsSync(UNSAFE) ? readdirSync(UNSAFE).filter((f) => f.endsWith('.torrent')).sort() : []) {
  placedOnly.push([`unsafe/${n}`, () => readFile(path.join(UNSAFE, n))]);
}

test('download creates the files of every unsafe torrent at their safe paths, only inside -o', { timeout: 120_000 }, async (t) => {
  assert.ok(placedOnly.length >= 12, `only ${placedOnly.length} cases`);
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-sanitize-place-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A port nothing listens on: the only peer never answers.
  const deadPeer = `${LOOPBACK}:${await freePort('tcp')}`;
  for (const [label, load] of placedOnly) {
    const bytes = await load();
    const caseDir = path.join(dir, label.replace(/[^a-z0-9.-]/gi, '_'));
    const sandbox = path.join(caseDir, 'sandbox');
    const out = path.join(sandbox, 'out');
    await mkdir(sandbox, { recursive: true });
    const torrentFile = path.join(caseDir, 'case.torrent');
    await writeFile(torrentFile, bytes);
    const torrent = parseTorrent(bytes);
    const expected = torrent.files
      .filter((f) => !f.padding)
      .map((f) => (torrent.multiFile ? [torrent.name, ...f.path] : [torrent.name]).join('/'))
      .sort();
    const child = spawnPytor(t, ['download', torrentFile, '-o', out, '--no-trackers', '--peer', deadPeer, '--port', '0', '-q'], { timeoutMs: 30_000 });
    const placed = await pollUntil(() => expected.every((rel) => existsSync(path.join(out, rel))), 15_000);
    child.kill('SIGINT');
    const exit = await child.exited;
    assert.ok(placed, `${label}: files never appeared\n${child.stderr()}`);
    assert.equal(exit.timedOut, false, `${label}: hung`);
    assert.equal(exit.code, 130, `${label}: ${JSON.stringify(exit)}\n${child.stderr()}`);
    assert.doesNotMatch(child.stderr(), /^\s+at /m, label);
    assert.deepEqual(await readdir(sandbox), ['out'], `${label}: something was written beside -o`);
    assert.deepEqual((await walk(out)).sort(), expected, `${label}: exactly the data files`);
  }
});
