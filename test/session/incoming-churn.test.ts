// A seed that 3000 incoming connections come and go through (each from a new ephemeral port)
// still takes new peers from trackers, keeps its peer book small, and gives back every socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TorrentSession } from '../../src/session/session.js';
import { PeerListener } from '../../src/session/listener.js';
import { MAX_KNOWN_PEERS } from '../../src/session/swarm.js';
import { makePeerId } from '../../src/tracker/index.js';
import { encodeHandshake, HANDSHAKE_LENGTH } from '../../src/wire/index.js';
import { makeTorrent } from '../storage/fixture.js';

/** Connects, sends a handshake, waits for the seed's handshake, then hangs up. */
function visit(port: number, infoHash: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = 0;
    const timer = setTimeout(() => finish(new Error('no handshake back')), 10_000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.on('connect', () => socket.write(encodeHandshake({ infoHash, peerId: randomBytes(20), reserved: Buffer.alloc(8) })));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= HANDSHAKE_LENGTH) finish();
    });
    socket.on('error', (err) => finish(err));
    // Refused while all slots are busy: the seed closes at once. That is a visit too.
    socket.on('close', () => finish());
  });
}

test('3000 incoming connections that come and go: the book stays small and tracker peers are still dialled', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pytor-churn-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(256 * 1024);
  const torrent = makeTorrent('churn.bin', [{ path: ['churn.bin'], data }], 64 * 1024, false);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'churn.bin'), data);
  const fdsBefore = (await readdir('/proc/self/fd')).length;

  const seed = new TorrentSession({ torrent, outDir: dir, peerId: makePeerId(), readOnly: true });
  await seed.start();
  const listener = new PeerListener((hex) => (hex === torrent.infoHashHex ? seed.acceptIncoming.bind(seed) : undefined));
  const port = await listener.listen(0, '127.0.0.1');

  let visits = 0;
  for (let batch = 0; batch < 3000 / 30; batch++) {
    await Promise.all(Array.from({ length: 30 }, () => visit(port, torrent.infoHash).then(() => visits++)));
  }
  assert.equal(visits, 3000);
  // Give the seed a moment to see the last closes.
  for (let i = 0; i < 50 && seed.stats().peersConnected > 0; i++) await new Promise((r) => setTimeout(r, 20));
  const known = seed.stats().peersKnown;
  assert.ok(known < 100, `incoming records are forgotten when their connection ends (book holds ${known}, bound ${MAX_KNOWN_PEERS})`);

  // A peer from a tracker after all that: it is remembered and dialled.
  let dialled = 0;
  const tracked = net.createServer((s) => {
    dialled++;
    s.destroy();
  });
  await new Promise<void>((r) => tracked.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => tracked.close(() => r())));
  seed.addPeers([{ host: '127.0.0.1', port: (tracked.address() as net.AddressInfo).port }]);
  for (let i = 0; i < 100 && dialled === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(dialled >= 1, 'the tracker peer was dialled');

  await seed.stop();
  await listener.close();
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  assert.ok(heapMb < 200, `heap ${heapMb.toFixed(0)} MB after 3000 connections`);
  for (let i = 0; i < 50; i++) {
    if ((await readdir('/proc/self/fd')).length <= fdsBefore + 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const fdsAfter = (await readdir('/proc/self/fd')).length;
  assert.ok(fdsAfter <= fdsBefore + 2, `file descriptors given back (${fdsBefore} before, ${fdsAfter} after)`);
});
