// --limit-down and --limit-up against libtorrent on loopback, measured from pytor's own
// --json-events progress lines over 10 s of steady transfer: within 10% of the limit.
// libtorrent runs unlimited here, so its loopback peer class does not matter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startLibtorrentLeecher, startLibtorrentSeeder } from './harness/libtorrent.js';
import { freePort } from './harness/ports.js';
import { pollUntil } from './harness/process.js';
import { LOCAL, MiB, makeFixture, spawnPytor } from './pytor-helpers.js';

const CASE_MS = 180_000;
const LIMIT = 4 * MiB;
const WINDOW_MS = 10_000;

interface Progress {
  event: string;
  time: string;
  downloaded?: number;
  uploaded?: number;
}

/** Bytes per second of `field` over WINDOW_MS, starting 2 s after it first moved. */
function measuredRate(stdout: string, field: 'downloaded' | 'uploaded'): number | undefined {
  const ticks = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Progress)
    .filter((e) => e.event === 'progress')
    .map((e) => ({ at: Date.parse(e.time), bytes: e[field] ?? 0 }));
  const moving = ticks.find((x) => x.bytes > 0);
  if (!moving) return undefined;
  const a = ticks.find((x) => x.at >= moving.at + 2_000);
  const b = a && ticks.find((x) => x.at >= a.at + WINDOW_MS);
  if (!a || !b) return undefined;
  return ((b.bytes - a.bytes) * 1000) / (b.at - a.at);
}

function assertNear(rate: number | undefined, what: string, stdout: string): void {
  assert.ok(rate !== undefined, `${what}: not enough progress lines\n${stdout.slice(-2000)}`);
  const ratio = rate / LIMIT;
  assert.ok(ratio > 0.9 && ratio < 1.1, `${what}: ${(rate / MiB).toFixed(3)} MiB/s against a 4 MiB/s limit`);
}

test('--limit-down 4M from a fast libtorrent seeder: within 10% of 4 MiB/s over 10 s', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'down.bin', spec: { files: [{ path: 'down.bin', size: 72 * MiB }] }, seed: 'limit-down', pieceLength: 256 * 1024 });
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const child = spawnPytor(
    t,
    ['download', f.torrentFile, '-o', path.join(f.dir, 'out'), '--no-trackers', '--port', '0', '--peer', `${LOCAL}:${seeder.port}`, '--limit-down', '4M', '--json-events'],
    { timeoutMs: 120_000 },
  );
  // 14 s of data is enough: the measurement needs 2 + 10 s.
  await pollUntil(() => measuredRate(child.stdout(), 'downloaded') !== undefined, 60_000, 500);
  child.kill('SIGINT');
  const r = await child.exited;
  assert.equal(r.timedOut, false);
  const rate = measuredRate(child.stdout(), 'downloaded');
  t.diagnostic(`download rate ${((rate ?? 0) / MiB).toFixed(3)} MiB/s`);
  assertNear(rate, 'download', child.stdout());
});

test('--limit-up 4M from a pytor seed to a libtorrent leecher: within 10% of 4 MiB/s over 10 s', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'up.bin', spec: { files: [{ path: 'up.bin', size: 72 * MiB }] }, seed: 'limit-up', pieceLength: 256 * 1024 });
  const port = await freePort('tcp');
  const seed = spawnPytor(
    t,
    ['seed', f.torrentFile, '-d', f.seedDir, '--no-trackers', '--port', String(port), '--bind', LOCAL, '--limit-up', '4M', '--json-events'],
    { timeoutMs: 120_000 },
  );
  await pollUntil(() => seed.stdout().includes('"event":"checked"'), 60_000, 200);
  const leecher = await startLibtorrentLeecher({ torrentFile: f.torrentFile, saveDir: path.join(f.dir, 'lt'), port: await freePort('both'), peers: [{ host: LOCAL, port }] });
  t.after(() => leecher.stop());
  await pollUntil(() => measuredRate(seed.stdout(), 'uploaded') !== undefined, 60_000, 500);
  seed.kill('SIGINT');
  await seed.exited;
  const rate = measuredRate(seed.stdout(), 'uploaded');
  t.diagnostic(`upload rate ${((rate ?? 0) / MiB).toFixed(3)} MiB/s`);
  assertNear(rate, 'upload', seed.stdout());
});
