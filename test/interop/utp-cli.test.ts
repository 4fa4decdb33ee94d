// uTP through pytor's commands, against python3-libtorrent forced to uTP only (no TCP in or
// out): pytor downloads from it (TCP is refused, the same port over uTP answers) and seeds to
// it (libtorrent connects to pytor's port over UDP). Bytes match both ways; with --no-utp the
// uTP-only seeder cannot be reached at all, which shows the transfer above went over uTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { startLtUtp } from '../utp/lt-utp-harness.js';
import { verifyPayload } from './harness/payload.js';
import { freePort } from './harness/ports.js';
import { LOCAL, MiB, makeFixture, parseSummary, spawnPytor } from './pytor-helpers.js';
import { startPytorSeed } from './pytor-procs.js';

const CASE_MS = 150_000;

test('pytor downloads from a uTP-only libtorrent seeder and seeds to a uTP-only libtorrent leecher', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'utp-cli.bin', spec: { files: [{ path: 'utp-cli.bin', size: 4 * MiB + 3 }] }, seed: 'utp-cli', pieceLength: 64 * 1024 });
  const seederPort = await freePort('both');
  const seeder = await startLtUtp({ mode: 'seed', torrentFile: f.torrentFile, saveDir: f.seedDir, port: seederPort });
  t.after(() => seeder.stop());
  const common = ['--bind', LOCAL, '--port', '0', '--no-dht', '--no-trackers', '--peer', `${LOCAL}:${seederPort}`];

  // TCP only: nothing to connect to.
  const tcpOnly = spawnPytor(t, ['download', f.torrentFile, '-o', path.join(f.dir, 'tcp'), ...common, '--no-utp', '--state-dir', path.join(f.dir, 's0'), '--json'], { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 4_000));
  tcpOnly.kill('SIGINT');
  await tcpOnly.exited;
  assert.equal(parseSummary(tcpOnly.stdout(), tcpOnly.stderr()).downloaded, 0, 'a uTP-only seeder cannot be reached over TCP');

  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', f.torrentFile, '-o', out, ...common, '--state-dir', path.join(f.dir, 's1'), '--json'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(parseSummary(r.stdout, r.stderr).complete, true);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);
  await seeder.stop();

  const seed = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.seedDir, extra: ['--no-trackers', '--no-dht', '--state-dir', path.join(f.dir, 's2')] });
  t.after(() => seed.proc.stop());
  const leechDir = path.join(f.dir, 'leech');
  const leecher = await startLtUtp({ mode: 'leech', torrentFile: f.torrentFile, saveDir: leechDir, port: await freePort('both'), peers: [[LOCAL, seed.port]] });
  t.after(() => leecher.stop());
  await leecher.waitForComplete(100_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seed.interrupt()).code, 130);
});
