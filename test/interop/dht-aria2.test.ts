// aria2c's DHT against pytor's: aria2c is given one pytor node as its only DHT entry point and
// a torrent with no trackers. It can find the seeder only through get_peers answered by pytor
// nodes (a peer one pytor node announced to the other), and what it announces back ends up in
// pytor's peer store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/index.js';
import { freePort } from './harness/ports.js';
import { verifyPayload } from './harness/payload.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { pollUntil, spawnManaged } from './harness/process.js';
import { LOCAL, MiB, makeFixture } from './pytor-helpers.js';

const CASE_MS = 150_000;

test('aria2c finds a seeder through pytor DHT nodes only, and announces itself to them', { timeout: CASE_MS }, async (t) => {
  const spec = { files: [{ path: 'aria.bin', size: 2 * MiB + 7 }] };
  const f = await makeFixture(t, { name: 'aria.bin', spec, seed: 'dht-aria2', pieceLength: 256 * 1024 });
  const infoHash = Buffer.from(f.made.infoHash, 'hex');
  // A seeder with no DHT and no tracker: only the announce below makes it findable.
  const seeder = await startLibtorrentSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => seeder.stop());

  const base: DhtNodeOptions = { port: 0, host: LOCAL, bootstrap: [], rateLimits: { perSource: 10_000, perSourceBurst: 10_000 }, queryTimeoutMs: 1000 };
  const a = await DhtNode.start(base);
  const b = await DhtNode.start({ ...base, bootstrap: [{ host: LOCAL, port: a.port }] });
  const closers: (() => Promise<void>)[] = [() => a.close(), () => b.close()];
  t.after(async () => {
    for (const c of closers.splice(0)) await c();
  });
  await b.ready();
  // b announces the seeder's port; the closest node that gave a token is a.
  await b.getPeers(infoHash, { announcePort: seeder.port });
  assert.equal(a.stats().storedPeers, 1, 'a did not store the announce');

  const out = path.join(f.dir, 'aria-out');
  await mkdir(out, { recursive: true });
  const ariaPort = await freePort('both');
  const ariaDhtPort = await freePort('udp');
  const aria = await spawnManaged({
    name: 'aria2-dht',
    cmd: 'aria2c',
    args: [
      '--no-conf=true',
      '--enable-dht=true',
      '--enable-dht6=false',
      `--dht-listen-port=${ariaDhtPort}`,
      `--dht-entry-point=${LOCAL}:${a.port}`,
      `--dht-file-path=${path.join(f.dir, 'aria-dht.dat')}`,
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--disable-ipv6=true',
      `--interface=${LOCAL}`,
      `--listen-port=${ariaPort}`,
      '--bt-exclude-tracker=*',
      '--console-log-level=warn',
      '--summary-interval=0',
      '--seed-time=0',
      '--bt-save-metadata=false',
      '--file-allocation=none',
      `--dir=${out}`,
      f.torrentFile,
    ],
    hardTimeoutMs: CASE_MS - 10_000,
  });
  t.after(() => aria.stop());
  const exit = await Promise.race([aria.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 90_000).unref())]);
  assert.ok(exit && exit.code === 0, `aria2c did not finish (${JSON.stringify(exit)}):\n${aria.output()}`);
  assert.deepEqual(await verifyPayload(out, spec, 'dht-aria2'), []);

  // aria2c announced itself (its TCP port) to the pytor nodes it found closest.
  let peers: { host: string; port: number }[] = [];
  const announced = await pollUntil(async () => {
    peers = await b.getPeers(infoHash);
    return peers.some((p) => p.port === ariaPort);
  }, 20_000, 1000);
  assert.ok(announced, `aria2c's announce did not reach pytor: ${JSON.stringify(peers)}; a ${JSON.stringify(a.stats())}`);
  for (const c of closers.splice(0)) await c();
});
