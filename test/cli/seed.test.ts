// `pytor seed` as a user meets it: one-line errors for a wrong -d, a stated partial seed that
// never touches the data folder, Ctrl-C -> `stopped` to the tracker and exit 130, and
// --seed-ratio ending a seed (and a `download --seed`) on its own with exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PYTOR_ENTRY, runPytor } from '../helpers/cli.js';
import { makePayload, verifyPayload, type PayloadSpec } from '../interop/harness/payload.js';
import { freePort } from '../interop/harness/ports.js';
import { spawnManaged, type ManagedProcess } from '../interop/harness/process.js';
import { startBittorrentTracker } from '../interop/harness/trackers.js';
import { startPytorDownload, startPytorSeed } from '../interop/pytor-procs.js';

const MiB = 1 << 20;
const CASE_MS = 60_000;

/** A payload folder (data/swarm/...) and a pytor-made torrent of it, optionally with a tracker. */
async function fixture(t: { after(fn: () => Promise<unknown>): void }, tracker?: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-cli-seed-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec: PayloadSpec = { files: [{ path: 'swarm/a.bin', size: 3 * MiB + 333 }, { path: 'swarm/b.bin', size: MiB + 17 }] };
  const dataDir = path.join(dir, 'data');
  await makePayload(dataDir, spec, 'cli-seed');
  const torrentFile = path.join(dir, 'swarm.torrent');
  const created = await runPytor(['create', path.join(dataDir, 'swarm'), '-o', torrentFile, '--piece-length', '64K', ...(tracker ? ['-t', tracker] : []), '--json']);
  assert.equal(created.code, 0, created.stderr);
  const made = JSON.parse(created.stdout) as { infoHash: string; pieceCount: number; length: number };
  return { dir, dataDir, spec, torrentFile, made };
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${JSON.stringify(stderr)}`);
  return lines[0]!;
}

test('a missing data folder is a one-line error, exit 1', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const missing = path.join(f.dir, 'no-such-folder');
  const r = await runPytor(['seed', f.torrentFile, '-d', missing, '--port', '0', '--bind', '127.0.0.1', '--no-trackers']);
  assert.equal(r.code, 1);
  assert.equal(oneLine(r.stderr), `pytor: data folder ${missing} does not exist`);
  assert.equal(r.stdout, '');
});

test('-d naming a file, not a folder, is a one-line error', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const r = await runPytor(['seed', f.torrentFile, '-d', f.torrentFile, '--port', '0', '--bind', '127.0.0.1', '--no-trackers']);
  assert.equal(r.code, 1);
  assert.match(oneLine(r.stderr), /^pytor: .*swarm\.torrent is not a folder/);
});

test('a folder without the data is refused with one line, and nothing is created in it', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const empty = path.join(f.dir, 'empty');
  await mkdir(empty);
  const r = await runPytor(['seed', f.torrentFile, '-d', empty, '--port', '0', '--bind', '127.0.0.1', '--no-trackers']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(oneLine(r.stderr), /^pytor: no data of swarm found in .*empty \(0 of \d+ pieces\)/);
  assert.deepEqual(await readdir(empty), []);
});

test('partial data: says so on stderr, seeds what is there, never creates the missing file', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  await rm(path.join(f.dataDir, 'swarm', 'b.bin'));
  let proc: ManagedProcess | undefined;
  t.after(async () => void (await proc?.stop()));
  let stdout = '';
  proc = await spawnManaged({
    name: 'pytor-seed-partial',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'seed', f.torrentFile, '-d', f.dataDir, '--port', '0', '--bind', '127.0.0.1', '--no-trackers', '--json'],
    readyLine: /seeding those only/,
    readyTimeoutMs: 20_000,
    onStdoutLine: (l) => (stdout += `${l}\n`),
  });
  assert.match(proc.output(), /pytor: warning: .*data holds \d+ of \d+ pieces \([\d.]+%\) of swarm; seeding those only/);
  process.kill(proc.pid, 'SIGINT');
  const exit = await proc.exited;
  assert.equal(exit.code, 130, proc.output());
  const s = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  assert.equal(s.complete, false);
  assert.equal(s.interrupted, true);
  assert.equal(s.uploaded, 0);
  assert.ok(Number(s.piecesHave) > 0 && Number(s.piecesHave) < f.made.pieceCount, JSON.stringify(s));
  assert.deepEqual(await readdir(path.join(f.dataDir, 'swarm')), ['a.bin']);
});

test('Ctrl-C: the tracker is told `stopped`, exit 130, a summary line', { timeout: CASE_MS }, async (t) => {
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());
  const f = await fixture(t, tracker.httpUrl);
  const events: string[] = [];
  for (const e of ['start', 'stop', 'complete', 'update']) tracker.server.on(e, () => events.push(e));
  const seeder = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.dataDir });
  t.after(() => seeder.proc.stop());
  const deadline = Date.now() + 20_000;
  while (!events.includes('start')) {
    assert.ok(Date.now() < deadline, `no announce reached the tracker\n${seeder.proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // A seed from the start: counted complete by the tracker, not announced as `completed`.
  assert.equal(tracker.server.torrents[f.made.infoHash]?.complete, 1);
  const exit = await seeder.interrupt();
  assert.equal(exit.code, 130, seeder.proc.output());
  assert.deepEqual(events, ['start', 'stop']);
  assert.equal(tracker.peers(f.made.infoHash).length, 0);
  assert.match(seeder.proc.output(), /^swarm: seeded complete for \d+s; uploaded 0 B \(0 B\/s, ratio 0\.00\)$/m);
});

test('--seed-ratio ends `pytor seed` and `pytor download --seed` by themselves, exit 0', { timeout: 90_000 }, async (t) => {
  const f = await fixture(t);
  const seeder = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.dataDir, extra: ['--no-trackers', '--seed-ratio', '1'] });
  t.after(() => seeder.proc.stop());
  // First leecher: downloads from the seed, then keeps seeding on a known port until it has
  // uploaded the size once.
  const port1 = await freePort();
  const l1 = await startPytorDownload({
    torrentFile: f.torrentFile,
    outDir: path.join(f.dir, 'l1'),
    extra: ['--no-trackers', '--peer', `127.0.0.1:${seeder.port}`, '--port', String(port1), '--seed', '--seed-ratio', '1'],
    name: 'pytor-l1',
  });
  t.after(() => l1.proc.stop());
  const seedExit = await Promise.race([seeder.proc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 40_000).unref())]);
  assert.notEqual(seedExit, 'timeout', `the seed did not stop at ratio 1\n${seeder.proc.output()}`);
  assert.equal(seedExit !== 'timeout' && seedExit.code, 0, seeder.proc.output());
  assert.match(seeder.proc.output(), /ratio (1|2)\.\d\d\)$/m);
  assert.equal(l1.proc.hasExited(), false, `download --seed stopped after completing\n${l1.proc.output()}`);

  // The seed is gone: the second leecher can only get the data from the first.
  const l2 = await runPytor(
    ['download', f.torrentFile, '-o', path.join(f.dir, 'l2'), '--no-trackers', '--peer', `127.0.0.1:${port1}`, '--port', '0', '--bind', '127.0.0.1', '--json'],
    { timeoutMs: 40_000 },
  );
  assert.equal(l2.code, 0, l2.stderr + l1.proc.output());
  assert.deepEqual(await verifyPayload(path.join(f.dir, 'l2'), f.spec, 'cli-seed'), []);
  const l1Exit = await Promise.race([l1.proc.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())]);
  assert.notEqual(l1Exit, 'timeout', `download --seed did not stop at ratio 1\n${l1.proc.output()}`);
  assert.equal(l1Exit !== 'timeout' && l1Exit.code, 0, l1.proc.output());
  const s1 = l1.summary();
  assert.ok(s1, l1.proc.output());
  assert.equal(s1.complete, true);
  assert.equal(s1.interrupted, false);
  assert.ok(Number(s1.uploaded) >= f.made.length, JSON.stringify(s1));
});

test('download --seed with a tracker: Ctrl-C ends it within 3 s with exactly one `stopped`', { timeout: CASE_MS }, async (t) => {
  const tracker = await startBittorrentTracker({ interval: 1_000 });
  t.after(() => tracker.stop());
  const events: string[] = [];
  for (const kind of ['start', 'complete', 'update', 'stop']) tracker.server.on(kind, () => events.push(kind));
  const f = await fixture(t, tracker.httpUrl);
  // The source announces nowhere (so every tracker event below is the downloader's).
  const seeder = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.dataDir, extra: ['--no-trackers'] });
  t.after(() => seeder.proc.stop());
  const leechDir = path.join(f.dir, 'leech');
  const leecher = await startPytorDownload({
    torrentFile: f.torrentFile,
    outDir: leechDir,
    extra: ['--peer', `127.0.0.1:${seeder.port}`, '--seed'],
  });
  t.after(() => leecher.proc.stop());
  const deadline = Date.now() + 40_000;
  while (!events.includes('complete')) {
    assert.ok(Date.now() < deadline, `no completed announce: ${events.join(',')}\n${leecher.proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(await verifyPayload(leechDir, f.spec, 'cli-seed'), []);
  // A few re-announce intervals (the tracker asks for 1 s; pytor's floor is 30 s): still one chain.
  await new Promise((r) => setTimeout(r, 1_500));
  const pressed = Date.now();
  const exit = await leecher.interrupt(10_000);
  const took = Date.now() - pressed;
  assert.equal(exit.code, 130, leecher.proc.output());
  assert.ok(took < 3_000, `exited ${took} ms after Ctrl-C`);
  assert.equal(events.filter((e) => e === 'stop').length, 1, `tracker events: ${events.join(',')}`);
  assert.equal(events.filter((e) => e === 'start').length, 1, `tracker events: ${events.join(',')}`);
  assert.equal(events.filter((e) => e === 'complete').length, 1, `tracker events: ${events.join(',')}`);
  assert.equal((await seeder.interrupt()).code, 130);
});
