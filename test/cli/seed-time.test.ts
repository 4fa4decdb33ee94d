// --seed-time ends seeding by itself: `pytor seed` after that long with nothing to do, and
// `pytor download --seed-time` (which implies --seed) once complete and that long seeded.
// Both say why in their --json-events `stopped` line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { makePayload, verifyPayload, type PayloadSpec } from '../interop/harness/payload.js';
import { startPytorSeed } from '../interop/pytor-procs.js';

const MiB = 1 << 20;

function lastEvent(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

test('--seed-time 2s ends `pytor seed` and `pytor download --seed-time` by themselves', { timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-seed-time-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const spec: PayloadSpec = { files: [{ path: 'st.bin', size: 2 * MiB + 9 }] };
  await makePayload(path.join(dir, 'data'), spec, 'seed-time');
  const torrentFile = path.join(dir, 'st.torrent');
  const created = await runPytor(['create', path.join(dir, 'data', 'st.bin'), '-o', torrentFile]);
  assert.equal(created.code, 0, created.stderr);

  // Alone, no peers: stops after about 2 s of seeding.
  const alone = await runPytor(['seed', torrentFile, '-d', path.join(dir, 'data'), '--no-trackers', '--port', '0', '--seed-time', '2s', '--json-events'], { timeoutMs: 30_000 });
  assert.equal(alone.code, 0, alone.stderr);
  assert.ok(alone.ms >= 2_000 && alone.ms < 20_000, `ran ${alone.ms} ms`);
  const stopped = lastEvent(alone.stdout);
  assert.equal(stopped.event, 'stopped');
  assert.equal(stopped.reason, 'time');

  // A download with --seed-time (no --seed): completes, seeds 2 s, stops with exit 0.
  const seeder = await startPytorSeed({ torrentFile, dir: path.join(dir, 'data'), extra: ['--no-trackers'] });
  t.after(() => seeder.interrupt());
  const out = path.join(dir, 'out');
  const dl = await runPytor(['download', torrentFile, '-o', out, '--no-trackers', '--port', '0', '--peer', `127.0.0.1:${seeder.port}`, '--seed-time', '2s', '--json-events'], { timeoutMs: 60_000 });
  assert.equal(dl.code, 0, dl.stderr);
  const events = dl.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { event: string; time: string; reason?: string });
  const complete = events.find((e) => e.event === 'complete');
  const end = events.at(-1)!;
  assert.ok(complete);
  assert.equal(end.event, 'stopped');
  assert.equal(end.reason, 'time');
  assert.ok(Date.parse(end.time) - Date.parse(complete.time) >= 1_900, 'stopped before seeding 2 s');
  assert.deepEqual(await verifyPayload(out, spec, 'seed-time'), []);
});
