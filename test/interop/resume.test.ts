// Resume: a download interrupted at about 40 % (SIGINT, then SIGKILL) and started again
// fetches only what is missing. The seeder is a real libtorrent; a throttling proxy in front
// of it makes "about 40 %" a point the test can pick, by the bytes the proxy passed on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { verifyPayload } from './harness/payload.js';
import { startLibtorrentSeeder, type LibtorrentHandle } from './harness/libtorrent.js';
import { pollUntil } from './harness/process.js';
import { MiB, countGoodPieces, makeFixture, parseSummary, spawnPytor, startThrottleProxy, type Fixture } from './pytor-helpers.js';

const CASE_MS = 150_000;
const PIECE = 256 * 1024;
const SIZE = 24 * MiB + 999;
/** 24 MiB at 6 MiB/s: about 4 s for the whole, so 40 % is well inside the run. */
const RATE = 6 * MiB;

interface Setup {
  f: Fixture;
  seeder: LibtorrentHandle;
  out: string;
}

async function setup(t: Parameters<typeof makeFixture>[0], seed: string): Promise<Setup> {
  const f = await makeFixture(t, { name: 'resume.bin', spec: { files: [{ path: 'resume.bin', size: SIZE }] }, seed, pieceLength: PIECE });
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  return { f, seeder, out: path.join(f.dir, 'out') };
}

/** Starts pytor through a throttle and sends `signal` once about 40 % has been passed to it. */
async function interruptAt40(t: Parameters<typeof makeFixture>[0], s: Setup, signal: NodeJS.Signals, extra: string[]) {
  const proxy = await startThrottleProxy(s.seeder.port, RATE);
  t.after(() => proxy.stop());
  const child = spawnPytor(t, ['download', s.f.torrentFile, '-o', s.out, '--peer', `${LOOPBACK}:${proxy.port}`, '--no-trackers', '--port', '0', ...extra], {
    timeoutMs: 60_000,
  });
  const reached = await pollUntil(() => proxy.forwarded() >= 0.4 * SIZE || child.child.exitCode !== null, 50_000, 20);
  assert.ok(reached, `40 % never passed the proxy (${proxy.forwarded()} bytes)\n${child.stderr()}`);
  assert.equal(child.child.exitCode, null, `pytor exited before 40 %: ${child.stdout()}\n${child.stderr()}`);
  child.kill(signal);
  const exit = await child.exited;
  await proxy.stop();
  return { exit, stdout: child.stdout(), stderr: child.stderr(), passed: proxy.forwarded() };
}

/** Runs pytor again straight to the seeder; returns its summary and the seeder's upload delta. */
async function resumeRun(s: Setup) {
  const before = (await s.seeder.stats()).uploaded;
  const r = await runPytor(['download', s.f.torrentFile, '-o', s.out, '--peer', `${LOOPBACK}:${s.seeder.port}`, '--no-trackers', '--port', '0', '--json'], {
    timeoutMs: 90_000,
  });
  assert.equal(r.code, 0, `second run: exit ${r.code} ${r.signal}\n${r.stdout}\n${r.stderr}`);
  const summary = parseSummary(r.stdout, r.stderr);
  assert.equal(summary.complete, true);
  assert.equal(summary.interrupted, false);
  assert.equal(summary.verified, SIZE);
  assert.deepEqual(await verifyPayload(s.out, s.f.spec, s.f.seed), []);
  // libtorrent's counter is refreshed on its own status clock: wait until it settles.
  let after = before;
  await pollUntil(async () => {
    const now = (await s.seeder.stats()).uploaded;
    const settled = now === after && now > before;
    after = now;
    return settled;
  }, 5000, 300);
  return { summary, seederSent: after - before };
}

test('SIGINT at ~40 %: exit 130, says how far it got; the next run fetches only the rest', { timeout: CASE_MS }, async (t) => {
  const s = await setup(t, 'resume-int');
  const first = await interruptAt40(t, s, 'SIGINT', []);
  assert.equal(first.exit.timedOut, false);
  assert.equal(first.exit.code, 130, `exit ${first.exit.code} ${first.exit.signal}\n${first.stdout}\n${first.stderr}`);
  assert.ok(!first.stdout.includes('\x1b'), 'escape codes in non-terminal output');
  const m = /resume\.bin: stopped at (\d+(?:\.\d+)?)%, ([^\n]*) of ([^\n]*) verified/.exec(first.stdout);
  assert.ok(m, `no "stopped at N%" line in:\n${first.stdout}`);
  const percent = Number(m[1]);
  assert.ok(percent > 5 && percent < 95, `stopped at ${percent}% (proxy passed ${first.passed} of ${SIZE})`);

  // What pytor said it had is what is on disk, checked without pytor.
  const good = await countGoodPieces(s.f.torrent, s.out);
  const onDisk = (100 * good.bytes) / SIZE;
  assert.ok(Math.abs(onDisk - percent) < 100 / s.f.torrent.pieces.length + 0.1, `said ${percent}%, disk holds ${good.pieces} good pieces (${onDisk.toFixed(1)}%)`);

  const { summary, seederSent } = await resumeRun(s);
  const missing = SIZE - good.bytes;
  t.diagnostic(`SIGINT at ${percent}%: second run downloaded ${summary.downloaded}, libtorrent sent ${seederSent}, missing was ${missing}, payload ${SIZE}`);
  assert.ok(summary.downloaded >= missing, `downloaded ${summary.downloaded} < missing ${missing}`);
  // The rest, and not much more (a piece or two in flight may come twice).
  assert.ok(summary.downloaded <= missing + 2 * PIECE, `second run downloaded ${summary.downloaded}, missing was ${missing}`);
  assert.ok(summary.downloaded < 0.75 * SIZE, `second run downloaded ${summary.downloaded} of ${SIZE}`);
  assert.ok(seederSent < 0.75 * SIZE, `libtorrent sent ${seederSent} of ${SIZE} in the second run`);
});

test('SIGKILL at ~40 %: every piece on disk that hashes right counts on the next run', { timeout: CASE_MS }, async (t) => {
  const s = await setup(t, 'resume-kill');
  const first = await interruptAt40(t, s, 'SIGKILL', ['--json']);
  assert.equal(first.exit.signal, 'SIGKILL');
  assert.equal(first.exit.timedOut, false);
  const good = await countGoodPieces(s.f.torrent, s.out);
  // A few pieces may still have been on their way to the disk; most of the 40 % is there.
  assert.ok(good.bytes > 0.2 * SIZE, `only ${good.pieces} good pieces on disk after SIGKILL (proxy passed ${first.passed})`);
  assert.ok(good.pieces < s.f.torrent.pieces.length, 'the whole payload was on disk before the kill');

  const { summary, seederSent } = await resumeRun(s);
  const missing = SIZE - good.bytes;
  t.diagnostic(`SIGKILL with ${good.pieces}/${s.f.torrent.pieces.length} pieces on disk: second run downloaded ${summary.downloaded}, libtorrent sent ${seederSent}, missing was ${missing}, payload ${SIZE}`);
  assert.ok(summary.downloaded >= missing, `downloaded ${summary.downloaded} < missing ${missing}`);
  assert.ok(summary.downloaded <= missing + 2 * PIECE, `second run downloaded ${summary.downloaded}, missing was ${missing}: pieces on disk were fetched again`);
  assert.ok(summary.downloaded < 0.8 * SIZE, `second run downloaded ${summary.downloaded} of ${SIZE}`);
  assert.ok(seederSent < 0.8 * SIZE, `libtorrent sent ${seederSent} of ${SIZE} in the second run`);
});
