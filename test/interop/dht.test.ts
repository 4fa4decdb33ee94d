// pytor's DHT against real DHT nodes: a loopback network of python3-libtorrent sessions
// (test/interop/py/lt_dht.py). Nothing here knows any tracker: peers are found only through
// the DHT. Every node is told only loopback bootstrap addresses, never the public routers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/index.js';
import type { PeerAddress } from '../../src/wire/address.js';
import { startLibtorrentDht } from './harness/dht.js';
import { pollUntil } from './harness/process.js';
import { LOCAL, MiB, makeFixture } from './pytor-helpers.js';

const CASE_MS = 180_000;
// Every node of the test network is 127.0.0.1: the per-source limit is about one address.
const LOOPBACK_LIMITS = { perSource: 10_000, perSourceBurst: 10_000 };

function has(peers: readonly PeerAddress[], port: number): boolean {
  return peers.some((p) => p.host === LOCAL && p.port === port);
}

test('pytor finds a DHT-only libtorrent seeder, is found by libtorrent, and restarts from its state file', { timeout: CASE_MS }, async (t) => {
  const f = await makeFixture(t, { name: 'dht.bin', spec: { files: [{ path: 'dht.bin', size: MiB }] }, seed: 'dht', pieceLength: 64 * 1024 });
  const net = await startLibtorrentDht({ count: 6, seed: { torrentFile: f.torrentFile, saveDir: f.seedDir } });
  t.after(() => net.stop());
  const seederPort = net.ports[net.ports.length - 1]!;
  const infoHash = Buffer.from(f.made.infoHash, 'hex');
  const stateFile = path.join(f.dir, 'dht.state');
  const base: DhtNodeOptions = { port: 0, host: LOCAL, bootstrap: [], rateLimits: LOOPBACK_LIMITS, queryTimeoutMs: 1000 };

  // (1) bootstrap from the first libtorrent node only, then get_peers finds the seeder.
  const a = await DhtNode.start({ ...base, bootstrap: [{ host: LOCAL, port: net.ports[0]! }], stateFile });
  let aClosed = false;
  t.after(async () => {
    if (!aClosed) await a.close();
  });
  await a.ready();
  assert.ok(a.stats().nodes >= 3, `pytor learned only ${a.stats().nodes} nodes: ${JSON.stringify(a.stats())}`);
  let found: PeerAddress[] = [];
  const seen = await pollUntil(async () => {
    found = await a.getPeers(infoHash);
    return has(found, seederPort);
  }, 60_000, 1000);
  assert.ok(seen, `pytor did not find the seeder 127.0.0.1:${seederPort} (found ${JSON.stringify(found)}); stats ${JSON.stringify(a.stats())}`);

  // (2) pytor announces a torrent nobody else has; libtorrent's get_peers finds pytor's port.
  const own = randomBytes(20);
  const announcedPort = 40_000 + (own[0]! << 4);
  await a.getPeers(own, { announcePort: announcedPort });
  let ltPeers: [string, number][] = [];
  const ltFound = await pollUntil(async () => {
    ltPeers = await net.getPeers(1, own.toString('hex'));
    return ltPeers.some(([h, p]) => h === LOCAL && p === announcedPort);
  }, 30_000, 500);
  assert.ok(ltFound, `libtorrent did not find pytor's announce (got ${JSON.stringify(ltPeers)}); stats ${JSON.stringify(a.stats())}`);

  // (3) the state file: a new node with no bootstrap list at all starts from the saved nodes.
  const saved = a.nodeId;
  await a.close();
  aClosed = true;
  assert.ok((await stat(stateFile)).size > 20);
  const began = Date.now();
  const b = await DhtNode.start({ ...base, stateFile });
  let bClosed = false;
  t.after(async () => {
    if (!bClosed) await b.close();
  });
  await b.ready();
  const bootMs = Date.now() - began;
  assert.ok(b.nodeId.equals(saved), 'the node id was not kept across runs');
  assert.ok(b.stats().goodNodes >= 3, `restart from state found ${b.stats().goodNodes} good nodes`);
  t.diagnostic(`bootstrap from the state file took ${bootMs} ms`);
  const again = await b.getPeers(infoHash);
  assert.ok(has(again, seederPort), `restarted node did not find the seeder: ${JSON.stringify(again)}`);
  assert.deepEqual(net.errors(), []);
  // Closed here, before the temp folder goes: close() writes the state file.
  await b.close();
  bClosed = true;
});
