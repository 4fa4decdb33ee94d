// The transport chosen by advertisement, against real libtorrent on loopback:
// 1. PEX: A is a libtorrent seeder that speaks only uTP; B is a libtorrent peer connected to A
//    over uTP. pytor is given B only, learns A from B's ut_pex with flag 0x04 and dials A over
//    uTP first: A refuses every TCP connection (libtorrent's peer_blocked tcp_disabled) and
//    counts none. A has no ut_pex of its own, so it cannot learn pytor from B and dial it first.
// 2. A magnet link whose only peer is a uTP-only libtorrent seeder: nothing advertises A, so
//    the metadata fetch tries TCP (refused), then uTP on its next attempt, and fetches the info
//    dict over uTP; the download session, told that A spoke uTP, dials uTP first straight away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { formatMagnet } from '../../src/magnet/index.js';
import { PYTOR_ENTRY } from '../helpers/cli.js';
import { freePort } from './harness/ports.js';
import { verifyPayload, type PayloadSpec } from './harness/payload.js';
import { pollUntil, spawnManaged } from './harness/process.js';
import { startLtTransport } from './lt-transport.js';
import { LOCAL, MiB, makeFixture } from './pytor-helpers.js';

const CASE_MS = 150_000;
const esc = (text: string) => text.replace(/[.[\]]/g, '\\$&');

test('PEX flag 0x04: pytor dials a uTP-only libtorrent seeder it learned through PEX over uTP first', { timeout: CASE_MS }, async (t) => {
  const spec: PayloadSpec = { files: [{ path: 'pex-utp.bin', size: 4 * MiB + 17 }] };
  const f = await makeFixture(t, { name: 'pex-utp.bin', spec, seed: 'pex-utp', pieceLength: 256 * 1024 });
  const a = await startLtTransport({ mode: 'seed', torrentFile: f.torrentFile, saveDir: f.seedDir, port: await freePort('both'), transports: 'utp-only', pex: false, closeRedundant: false });
  t.after(() => a.stop());
  const bDir = path.join(f.dir, 'b');
  await mkdir(bDir, { recursive: true });
  // B keeps A once both are seeds (closeRedundant false), so A stays in what B tells others.
  const b = await startLtTransport({ mode: 'leech', torrentFile: f.torrentFile, saveDir: bDir, port: await freePort('both'), transports: 'both', closeRedundant: false, peers: [[LOCAL, a.port]] });
  t.after(() => b.stop());
  const bToA = () => b.lastStatus()?.peerList.find((p) => p.port === a.port);
  assert.ok(await pollUntil(() => bToA()?.utp === true, 30_000, 200), `libtorrent B did not connect to A over uTP: ${JSON.stringify(b.lastStatus())}`);

  const out = path.join(f.dir, 'out');
  const started = Date.now();
  let learnedAt = 0;
  // Rate-limited, so the download outlasts libtorrent's first PEX message (seconds, measured below).
  const pytor = await spawnManaged({
    name: 'pytor-download',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'download', f.torrentFile, '-o', out, '--port', '0', '--bind', LOCAL, '--no-trackers', '--no-dht', '--limit-down', '256K', '--json', '--peer', `${LOCAL}:${b.port}`],
    env: { ...process.env, DEBUG: 'pytor:pex,pytor:swarm,pytor:session' },
    hardTimeoutMs: CASE_MS,
  });
  t.after(() => pytor.stop(5000));

  const aLabel = `${LOCAL}:${a.port}`;
  const learned = new RegExp(`learned ${esc(aLabel)} from ${esc(`${LOCAL}:${b.port}`)}, flags 0x([0-9a-f]{2})`);
  assert.ok(
    await pollUntil(() => {
      if (!learnedAt && learned.test(pytor.output())) learnedAt = Date.now();
      return learnedAt > 0;
    }, 90_000, 100),
    `pytor did not learn A (${aLabel}) through B's PEX:\n${pytor.output().slice(-6000)}`,
  );
  console.log(`libtorrent's first PEX naming A reached pytor ${((learnedAt - started) / 1000).toFixed(1)} s after pytor started`);
  const flags = parseInt(learned.exec(pytor.output())![1]!, 16);
  console.log(`B named A with flags 0x${flags.toString(16).padStart(2, '0')}`);
  assert.ok(flags & 0x04, `B's PEX entry for A has the uTP flag (0x${flags.toString(16)})`);

  const chose = new RegExp(`dial ${esc(aLabel)} over uTP first: PEX says it speaks uTP`);
  const connected = new RegExp(`connected to ${esc(aLabel)} over uTP`);
  assert.ok(await pollUntil(() => chose.test(pytor.output()) && connected.test(pytor.output()), 30_000, 100), `pytor did not dial A over uTP:\n${pytor.output().slice(-6000)}`);
  assert.doesNotMatch(pytor.output(), new RegExp(`dial ${esc(aLabel)} over TCP first`));

  const exit = await pytor.exited;
  assert.equal(exit.code, 0, `pytor exit ${JSON.stringify(exit)}\n${pytor.output().slice(-4000)}`);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
  assert.deepEqual(a.blocked(), [], 'A saw no TCP connection (libtorrent refuses and reports each one)');
  assert.deepEqual(a.errors(), []);
});

test('magnet link, only peer a uTP-only libtorrent seeder: metadata and data come over uTP', { timeout: CASE_MS }, async (t) => {
  const spec: PayloadSpec = { files: [{ path: 'magnet-utp.bin', size: 3 * MiB + 5 }] };
  const f = await makeFixture(t, { name: 'magnet-utp.bin', spec, seed: 'magnet-utp', pieceLength: 64 * 1024 });
  const a = await startLtTransport({ mode: 'seed', torrentFile: f.torrentFile, saveDir: f.seedDir, port: await freePort('both'), transports: 'utp-only' });
  t.after(() => a.stop());
  const aLabel = `${LOCAL}:${a.port}`;
  const magnet = formatMagnet({ infoHashHex: f.made.infoHash, peers: [{ host: LOCAL, port: a.port }] });
  const out = path.join(f.dir, 'out');
  const pytor = await spawnManaged({
    name: 'pytor-magnet',
    cmd: process.execPath,
    args: [PYTOR_ENTRY, 'download', magnet, '-o', out, '--port', '0', '--bind', LOCAL, '--no-trackers', '--no-dht', '--json'],
    env: { ...process.env, DEBUG: 'pytor:metadata,pytor:swarm' },
    hardTimeoutMs: CASE_MS,
  });
  t.after(() => pytor.stop(5000));
  const exit = await pytor.exited;
  const log = pytor.output();
  assert.equal(exit.code, 0, `pytor exit ${JSON.stringify(exit)}\n${log.slice(-6000)}`);
  assert.deepEqual(await verifyPayload(out, spec, f.seed), []);
  // The metadata fetch: nothing advertised A, so TCP first (refused), then uTP.
  assert.match(log, new RegExp(`pytor:metadata dial ${esc(aLabel)} over TCP first: nothing says it speaks uTP`));
  assert.match(log, new RegExp(`pytor:metadata dial ${esc(aLabel)} over uTP first: the last attempt failed`));
  assert.match(log, new RegExp(`pytor:metadata connected to ${esc(aLabel)} over uTP`));
  assert.match(log, /pytor:metadata metadata complete/);
  // The session: told A spoke uTP, it dials uTP first at once.
  assert.match(log, new RegExp(`pytor:swarm dial ${esc(aLabel)} over uTP first: it spoke uTP with us`));
  assert.doesNotMatch(log, new RegExp(`pytor:swarm dial ${esc(aLabel)} over TCP first`));
  // Only the fetch's first attempt reached A over TCP (an MSE try and a plain one).
  const blocked = a.blocked();
  assert.ok(blocked.length >= 1 && blocked.length <= 2 && blocked.every((r) => r === 'tcp_disabled'), `A refused ${JSON.stringify(blocked)}`);
});
