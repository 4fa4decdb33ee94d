// The DHT through pytor's commands, against a loopback network of python3-libtorrent nodes
// (never the public routers): a bare magnet link (no tr=, no x.pe=) downloaded from a seeder
// that announced only to the DHT; `pytor peers` listing that seeder as a DHT peer, again from
// the saved routing table alone; and a libtorrent leecher finding `pytor seed` through the DHT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatMagnet } from '../../src/magnet/index.js';
import { runPytor } from '../helpers/cli.js';
import { startLibtorrentDht } from './harness/dht.js';
import { verifyPayload } from './harness/payload.js';
import { LOCAL, MiB, makeFixture, parseSummary } from './pytor-helpers.js';
import { startPytorSeed } from './pytor-procs.js';

const CASE_MS = 180_000;

test('a bare magnet link downloads through the DHT; pytor peers finds the seeder there, also from the saved table alone', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'dht-cli.bin', spec: { files: [{ path: 'dht-cli.bin', size: 3 * MiB + 5 }] }, seed: 'dht-cli', pieceLength: 64 * 1024 });
  const net = await startLibtorrentDht({ count: 6, seed: { torrentFile: f.torrentFile, saveDir: f.seedDir } });
  t.after(() => net.stop());
  const seederPort = net.ports[net.ports.length - 1]!;
  const bootstrap = `${LOCAL}:${net.ports[0]}`;
  const magnet = formatMagnet({ infoHashHex: f.made.infoHash });
  const state = path.join(f.dir, 'state');
  const out = path.join(f.dir, 'out');

  const dl = await runPytor(
    ['download', magnet, '-o', out, '--bind', LOCAL, '--port', '0', '--dht-bootstrap', bootstrap, '--state-dir', state, '--json'],
    { timeoutMs: 120_000 },
  );
  assert.equal(dl.code, 0, `${dl.stdout}\n${dl.stderr}`);
  assert.equal(parseSummary(dl.stdout, dl.stderr).complete, true);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);

  type PeersJson = { dht: { ok: boolean; nodes: number } | null; peerSources: Record<string, string[]> };
  const seederKey = `${LOCAL}:${seederPort}`;
  const peers = await runPytor(['peers', magnet, '--dht-bootstrap', bootstrap, '--state-dir', path.join(f.dir, 'state2'), '--timeout', '15', '--json'], { timeoutMs: 30_000 });
  assert.equal(peers.code, 0, peers.stderr);
  const pj = JSON.parse(peers.stdout) as PeersJson;
  assert.ok(pj.dht?.ok, peers.stdout);
  assert.deepEqual(pj.peerSources[seederKey], ['dht'], peers.stdout);
  const text = await runPytor(['peers', magnet, '--dht-bootstrap', bootstrap, '--state-dir', path.join(f.dir, 'state2'), '--timeout', '15'], { timeoutMs: 30_000 });
  assert.ok(text.stdout.split('\n').includes(`${seederKey}  dht`), text.stdout);

  // The download's state folder kept its routing table: no bootstrap node given at all now
  // (the test runner sets PYTOR_DHT_BOOTSTRAP empty, so no public router either).
  const again = await runPytor(['peers', magnet, '--state-dir', state, '--timeout', '15', '--json'], { timeoutMs: 30_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as PeersJson).peerSources[seederKey], ['dht'], again.stdout);
});

test('a libtorrent leecher given only a bare magnet link finds pytor seed through the DHT', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'dht-seed.bin', spec: { files: [{ path: 'dht-seed.bin', size: 2 * MiB + 77 }] }, seed: 'dht-seed', pieceLength: 64 * 1024 });
  const net = await startLibtorrentDht({ count: 5 });
  t.after(() => net.stop());
  const seed = await startPytorSeed({
    torrentFile: f.torrentFile,
    dir: f.seedDir,
    extra: ['--no-trackers', '--dht-bootstrap', `${LOCAL}:${net.ports[0]}`, '--state-dir', path.join(f.dir, 'state')],
  });
  t.after(() => seed.proc.stop());
  const leechDir = await mkdtemp(path.join(tmpdir(), 'pytor-dht-leech-'));
  t.after(() => rm(leechDir, { recursive: true, force: true }));
  net.leech(2, formatMagnet({ infoHashHex: f.made.infoHash }), leechDir);
  await net.waitFinished(2, 120_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seed.interrupt()).code, 130);
});
