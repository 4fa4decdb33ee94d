// A swarm of pytors on 127.0.0.1: one `pytor seed` and three `pytor download --seed` leechers,
// finding each other through the npm bittorrent-tracker. Every leecher must end with the exact
// bytes, and the leechers must have uploaded to each other (not only taken from the seed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { makePayload, verifyPayload, type PayloadSpec } from './harness/payload.js';
import { startBittorrentTracker } from './harness/trackers.js';
import { pollUntil } from './harness/process.js';
import { startPytorDownload, startPytorSeed, type PytorProc } from './pytor-procs.js';

const MiB = 1 << 20;
const LEECHERS = 3;

test('one pytor seed and three pytor leechers: all complete, leechers upload to each other', { timeout: 150_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-swarm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec: PayloadSpec = { files: [{ path: 'swarm/one.bin', size: 20 * MiB + 4321 }, { path: 'swarm/two.bin', size: 4 * MiB - 99 }] };
  const seed = 'swarm-of-pytors';
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, spec, seed);
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());
  const torrentFile = path.join(dir, 'swarm.torrent');
  const created = await runPytor(['create', path.join(seedDir, 'swarm'), '-o', torrentFile, '-t', tracker.httpUrl, '--piece-length', '64K', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { infoHash } = JSON.parse(created.stdout) as { infoHash: string };

  const seeder = await startPytorSeed({ torrentFile, dir: seedDir });
  t.after(() => seeder.proc.stop());
  const leechers: PytorProc[] = [];
  for (let i = 0; i < LEECHERS; i++) {
    // --seed: a leecher that finished keeps serving the others, as a real swarm member would.
    const l = await startPytorDownload({ torrentFile, outDir: path.join(dir, `leech${i}`), extra: ['--seed'], name: `pytor-leech${i}` });
    t.after(() => l.proc.stop());
    leechers.push(l);
  }
  const output = () => [seeder, ...leechers].map((p) => `--- ${p.proc.name} ---\n${p.proc.output()}`).join('\n');
  // Every member has told the tracker it is complete (the seed at start, leechers on finishing).
  const allComplete = await pollUntil(() => (tracker.server.torrents[infoHash]?.complete ?? 0) >= LEECHERS + 1, 100_000, 200);
  assert.ok(allComplete, `swarm did not complete: ${JSON.stringify(tracker.server.torrents[infoHash] && { complete: tracker.server.torrents[infoHash]!.complete, incomplete: tracker.server.torrents[infoHash]!.incomplete })}\n${output()}`);

  let leecherUploads = 0;
  for (const [i, l] of leechers.entries()) {
    const exit = await l.interrupt();
    assert.equal(exit.code, 130, output());
    const s = l.summary();
    assert.ok(s, `leech${i} printed no JSON summary\n${output()}`);
    assert.equal(s.complete, true);
    assert.equal(s.interrupted, true);
    assert.equal(s.hashFailures, 0);
    leecherUploads += Number(s.uploaded);
    assert.deepEqual(await verifyPayload(path.join(dir, `leech${i}`), spec, seed), [], `leech${i}`);
  }
  t.diagnostic(`bytes uploaded by leechers: ${leecherUploads}`);
  assert.ok(leecherUploads > 0, `leechers uploaded nothing to each other\n${output()}`);
  assert.equal((await seeder.interrupt()).code, 130);
});
