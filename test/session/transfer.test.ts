// Two sessions in one process over loopback: one seeds, one downloads. Checks the bytes,
// that the seeder uploaded what the leecher downloaded, and that nothing is left open after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { TorrentSession } from '../../src/session/session.js';
import { PeerListener } from '../../src/session/listener.js';
import { makePeerId } from '../../src/tracker/index.js';
import { makeTorrent } from '../storage/fixture.js';

/** Sockets, servers, file handles and timers: what a session owns and must give back. */
function openResources(): string[] {
  const owned = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TCPWrap', 'FileHandle', 'Timeout', 'UDPWrap']);
  return process.getActiveResourcesInfo().filter((r) => owned.has(r)).sort();
}

test('a session downloads from another session and both close cleanly', { timeout: 60_000 }, async () => {
  const before = openResources();
  const dir = await mkdtemp(join(tmpdir(), 'pytor-transfer-'));
  try {
    const files = [
      { path: ['a.bin'], data: randomBytes(300_001) },
      { path: ['sub', 'empty'], data: Buffer.alloc(0) },
      { path: ['sub', 'b.bin'], data: randomBytes(1_234_567) },
    ];
    const torrent = makeTorrent('pack', files, 64 * 1024);
    const seedDir = join(dir, 'seed');
    for (const f of files) {
      await mkdir(join(seedDir, 'pack', ...f.path.slice(0, -1)), { recursive: true });
      await writeFile(join(seedDir, 'pack', ...f.path), f.data);
    }

    const seeder = new TorrentSession({ torrent, outDir: seedDir, peerId: makePeerId() });
    const listener = new PeerListener((hex) => (hex === torrent.infoHashHex ? seeder.acceptIncoming.bind(seeder) : undefined));
    const port = await listener.listen(0, '127.0.0.1');
    await seeder.start();
    assert.equal(seeder.stats().piecesHave, torrent.pieces.length, 'the seeder found all its data');

    const leecher = new TorrentSession({ torrent, outDir: join(dir, 'leech'), peerId: makePeerId() });
    await leecher.start();
    assert.equal(leecher.stats().piecesHave, 0);
    const complete = once(leecher, 'complete');
    leecher.addPeers([{ host: '127.0.0.1', port }]);
    await complete;

    for (const f of files) assert.ok((await readFile(join(dir, 'leech', 'pack', ...f.path))).equals(f.data), f.path.join('/'));
    assert.equal(leecher.stats().verified, torrent.length);
    assert.equal(leecher.stats().hashFailures, 0);
    assert.ok(seeder.stats().uploaded >= torrent.length, `seeder uploaded ${seeder.stats().uploaded}`);

    await Promise.all([leecher.stop(), seeder.stop(), listener.close()]);
    // Sockets close asynchronously; give them a turn of the loop.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(openResources(), before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a peer that sends bad data is struck and the piece fetched again from an honest one', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pytor-strike-'));
  try {
    const data = randomBytes(512 * 1024);
    const torrent = makeTorrent('one.bin', [{ path: ['one.bin'], data }], 32 * 1024, false);
    // The liar holds the same torrent with every byte flipped: all its pieces fail the hash.
    const liarDir = join(dir, 'liar');
    await mkdir(liarDir, { recursive: true });
    await writeFile(join(liarDir, 'one.bin'), Buffer.from(data.map((b) => b ^ 0xff)));
    const honestDir = join(dir, 'honest');
    await mkdir(honestDir, { recursive: true });
    await writeFile(join(honestDir, 'one.bin'), data);

    // A liar session does not find its corrupt data valid, so it would not serve it; serve it by
    // pretending: mark every piece had after the check.
    const liar = new TorrentSession({ torrent, outDir: liarDir, peerId: makePeerId() });
    const honest = new TorrentSession({ torrent, outDir: honestDir, peerId: makePeerId() });
    const listeners = [liar, honest].map(
      (s) => new PeerListener((hex) => (hex === torrent.infoHashHex ? s.acceptIncoming.bind(s) : undefined)),
    );
    const [liarPort, honestPort] = await Promise.all(listeners.map((l) => l.listen(0, '127.0.0.1')));
    await liar.start();
    for (let i = 0; i < torrent.pieces.length; i++) liar.picker.markHave(i);
    await honest.start();

    const leecher = new TorrentSession({ torrent, outDir: join(dir, 'leech'), peerId: makePeerId() });
    await leecher.start();
    const complete = once(leecher, 'complete');
    leecher.addPeers([{ host: '127.0.0.1', port: liarPort! }]);
    // Let the liar alone feed us first, so strikes are certain to fall on it.
    await once(leecher, 'warning');
    leecher.addPeers([{ host: '127.0.0.1', port: honestPort! }]);
    await complete;

    assert.ok((await readFile(join(dir, 'leech', 'one.bin'))).equals(data));
    assert.ok(leecher.stats().hashFailures >= 1);
    await Promise.all([leecher.stop(), liar.stop(), honest.stop(), ...listeners.map((l) => l.close())]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
