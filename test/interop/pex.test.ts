// BEP 11 with real clients: pytor learns of a third peer only through libtorrent's ut_pex and
// dials it. libtorrent sends its first PEX message to a peer on its first tick after the BEP 10
// handshake once it has two or more peers, then at most once a minute (ut_pex.cpp), so this
// takes seconds, not a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { PYTOR_ENTRY } from '../helpers/cli.js';
import { freePort } from './harness/ports.js';
import { verifyPayload, type PayloadSpec } from './harness/payload.js';
import { startLibtorrentLeecher, startLibtorrentSeeder } from './harness/libtorrent.js';
import { pollUntil, spawnManaged } from './harness/process.js';
import { LOCAL, MiB, makeFixture } from './pytor-helpers.js';

const CASE_MS = 150_000;

test('pytor dials a peer it learned only from libtorrent\'s PEX, then completes through it', { timeout: CASE_MS }, async (t) => {
  const spec: PayloadSpec = { files: [{ path: 'pex.bin', size: 3 * MiB + 99 }] };
  const f = await makeFixture(t, { name: 'pex.bin', spec, seed: 'pex', pieceLength: 256 * 1024 });
  // A and C: libtorrent leechers with nothing yet, A connected to C. Nobody completes early,
  // so nobody drops anybody as a fellow seed before PEX has gone round.
  const cDir = path.join(f.dir, 'c');
  const aDir = path.join(f.dir, 'a');
  await mkdir(cDir, { recursive: true });
  await mkdir(aDir, { recursive: true });
  const c = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: cDir, port: await freePort('both') });
  t.after(() => c.stop());
  const a = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: aDir, port: await freePort('both'), peers: [{ host: LOCAL, port: c.port }] });
  t.after(() => a.stop());
  assert.ok(await pollUntil(async () => (await a.stats()).peers >= 1, 20_000, 200), 'libtorrent A did not connect to C');

  // pytor is told of A only and has no tracker: it can reach C only if A tells it.
  const out = path.join(f.dir, 'out');
  let stdout = '';
  const pytor = await spawnManaged({
    name: 'pytor-download',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'download', f.torrentFile, '-o', out, '--port', '0', '--bind', LOCAL, '--no-trackers', '--json', '--peer', `${LOCAL}:${a.port}`],
    env: { ...process.env, DEBUG: 'pytor:pex,pytor:session' },
    hardTimeoutMs: CASE_MS,
    onStdoutLine: (line) => (stdout += `${line}\n`),
  });
  t.after(async () => {
    await pytor.stop(5000);
  });

  const esc = (text: string) => text.replace(/[.[\]]/g, '\\$&');
  const cLabel = `${LOCAL}:${c.port}`;
  const learned = new RegExp(`learned ${esc(cLabel)} from ${esc(`${LOCAL}:${a.port}`)}`);
  // The session logs "<label> ready" per connection; C's listen port as the label means pytor
  // dialled it (a connection from C would carry an ephemeral port).
  const dialled = new RegExp(`${esc(cLabel)} ready`);
  const ok = await pollUntil(() => learned.test(pytor.output()) && dialled.test(pytor.output()), 90_000, 250);
  assert.ok(ok, `pytor did not learn of and connect to C (${cLabel}) through PEX:\n${pytor.output().slice(-6000)}`);

  // Now data: a seeder that only C is told of. pytor completes through the swarm.
  const s = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => s.stop());
  c.connect(LOCAL, s.port);
  const exit = await pytor.exited;
  assert.equal(exit.code, 0, `pytor exit ${JSON.stringify(exit)}\n${stdout}\n${pytor.output().slice(-4000)}`);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
});
