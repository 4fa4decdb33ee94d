// Protocol encryption through pytor's commands against real clients that insist on it:
// libtorrent forced to RC4 (out_enc_policy/in_enc_policy pe_forced, allowed_enc_level pe_rc4)
// both ways, and transmission-daemon with encryption required both ways (pytor dials it:
// Transmission never dials a 127.x peer). `--encryption off` is refused by the forced peer,
// which shows the encrypted cases really were encrypted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runPytor } from '../helpers/cli.js';
import { startLibtorrentEnc } from './harness/libtorrent-enc.js';
import { verifyPayload } from './harness/payload.js';
import { freePort } from './harness/ports.js';
import { startTransmissionLeecher, startTransmissionSeeder } from './harness/transmission.js';
import { setTransmissionEncryption } from './harness/transmission-enc.js';
import { LOCAL, MiB, makeFixture, parseSummary, spawnPytor } from './pytor-helpers.js';
import { startPytorSeed } from './pytor-procs.js';

const CASE_MS = 150_000;
const common = ['--bind', LOCAL, '--port', '0', '--no-dht', '--no-trackers'];

async function fixture(t: { after(fn: () => unknown): void }, name: string) {
  return makeFixture(t as never, { name, spec: { files: [{ path: name, size: 3 * MiB + 11 }] }, seed: name, pieceLength: 64 * 1024 });
}

test('pytor download --encryption require from a libtorrent seeder that forces RC4; --encryption off is refused', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 'enc-down.bin');
  const seeder = await startLibtorrentEnc({ mode: 'seed', torrentFile: f.torrentFile, dir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());
  const out = path.join(f.dir, 'out');
  const state = path.join(f.dir, 'state');
  // Plaintext first: the seeder must refuse it, or the cases below prove nothing.
  const plain = spawnPytor(t, ['download', f.torrentFile, '-o', path.join(f.dir, 'plain'), ...common, '--peer', `${LOCAL}:${seeder.port}`, '--encryption', 'off', '--state-dir', state, '--json'], { timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 6_000));
  plain.kill('SIGINT');
  const plainExit = await plain.exited;
  assert.equal(plainExit.code, 130, plain.stderr());
  assert.equal(parseSummary(plain.stdout(), plain.stderr()).downloaded, 0, 'a forced-RC4 seeder gives a plaintext peer nothing');
  for (const mode of ['require', 'prefer']) {
    const r = await runPytor(['download', f.torrentFile, '-o', path.join(out, mode), ...common, '--peer', `${LOCAL}:${seeder.port}`, '--encryption', mode, '--state-dir', state, '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${mode}: ${r.stderr}`);
    assert.equal(parseSummary(r.stdout, r.stderr).complete, true);
    assert.deepEqual(await verifyPayload(path.join(out, mode), f.spec, f.seed), [], mode);
  }
});

test('a libtorrent leecher that forces RC4 downloads from pytor seed --encryption require', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 'enc-up.bin');
  const seed = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.seedDir, extra: ['--no-trackers', '--no-dht', '--encryption', 'require', '--state-dir', path.join(f.dir, 'state')] });
  t.after(() => seed.proc.stop());
  const leechDir = path.join(f.dir, 'leech');
  const leecher = await startLibtorrentEnc({ mode: 'leech', torrentFile: f.torrentFile, dir: leechDir, port: await freePort('both') });
  t.after(() => leecher.stop());
  leecher.connect(LOCAL, seed.port);
  await leecher.waitForComplete(90_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seed.interrupt()).code, 130);
});

test('transmission with encryption required: pytor downloads from it and seeds to it', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t, 'enc-tr.bin');
  const trSeed = await startTransmissionSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => trSeed.stop());
  await setTransmissionEncryption(trSeed, 'required');
  const out = path.join(f.dir, 'out');
  const r = await runPytor(['download', f.torrentFile, '-o', out, ...common, '--peer', `${LOCAL}:${trSeed.port}`, '--encryption', 'require', '--state-dir', path.join(f.dir, 'state'), '--json'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await verifyPayload(out, f.spec, f.seed), []);

  const trPort = await freePort('both');
  const leechDir = path.join(f.dir, 'tr-leech');
  const trLeech = await startTransmissionLeecher({ torrentFile: f.torrentFile, saveDir: leechDir, port: trPort });
  t.after(() => trLeech.stop());
  await setTransmissionEncryption(trLeech, 'required');
  const seed = await startPytorSeed({ torrentFile: f.torrentFile, dir: f.seedDir, extra: ['--no-trackers', '--no-dht', '--encryption', 'require', '--peer', `${LOCAL}:${trPort}`, '--state-dir', path.join(f.dir, 'state2')] });
  t.after(() => seed.proc.stop());
  await trLeech.waitForComplete(120_000);
  assert.deepEqual(await verifyPayload(leechDir, f.spec, f.seed), []);
  assert.equal((await seed.interrupt()).code, 130);
});
