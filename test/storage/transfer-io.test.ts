// Piece writes on the event loop until one is slow, then on the thread pool (fake clock), and
// the storage's piece writes byte-exact both ways.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { SLOW_IO_MS, TransferIo } from '../../src/storage/transfer-io.js';
import { TorrentStorage } from '../../src/storage/storage.js';
import { makeTorrent, pieceOf, streamOf, type FileSpec } from './fixture.js';
import { prng, randomBytes } from '../helpers/random.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pytor-transfer-io-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it('writes run in place until one takes longer than SLOW_IO_MS, then go to the thread pool', async () => {
  let t = 0;
  let step = 1; // each clock read advances this much: one call costs `step` ms
  const io = new TransferIo(true, () => (t += step));
  const h = await open(path.join(tmp, 'f.bin'), 'w+');
  try {
    let pooled = 0;
    const write = h.write.bind(h);
    // Spies on the thread-pool path (FileHandle.write); the in-place path uses the fd.
    (h as { write: unknown }).write = (...a: Parameters<typeof h.write>) => (pooled++, write(...a));

    assert.equal(await io.write(h, Buffer.from('hello'), 0, 5, 0), 5);
    assert.equal(await io.write(h, Buffer.from('hello'), 0, 5, 0), 5);
    assert.equal(pooled, 0, 'fast writes stay on the event loop');
    assert.equal(io.onEventLoop, true);

    step = SLOW_IO_MS + 1;
    assert.equal(await io.write(h, Buffer.from('world'), 0, 5, 5), 5);
    assert.equal(io.onEventLoop, false, 'one slow write moves writes off the event loop');
    step = 0;
    assert.equal(await io.write(h, Buffer.from('!'), 0, 1, 10), 1);
    assert.equal(pooled, 1, 'and they stay there');
    assert.equal((await readFile(path.join(tmp, 'f.bin'))).toString(), 'helloworld!');
  } finally {
    await h.close();
  }
});

for (const inPlace of [true, false]) {
  it(`storage writes pieces byte-exact with writes ${inPlace ? 'on the event loop' : 'on the thread pool'}`, async () => {
    const rand = prng(inPlace ? 5 : 6);
    const specs: FileSpec[] = [
      { path: ['a.bin'], data: randomBytes(rand, 50_000) },
      { path: ['b.bin'], data: randomBytes(rand, 30_001) },
    ];
    const torrent = makeTorrent('io', specs, 16384);
    const out = path.join(tmp, `out-${inPlace}`);
    const storage = await TorrentStorage.open(torrent, out, { ioOnEventLoop: inPlace });
    const stream = streamOf(specs);
    try {
      for (let i = torrent.pieces.length - 1; i >= 0; i--) await storage.writePiece(i, pieceOf(torrent, stream, i));
      const block = await storage.readBlock(3, 1000, 5000); // piece 3 spans a.bin and b.bin
      assert.deepEqual(block, pieceOf(torrent, stream, 3).subarray(1000, 6000));
    } finally {
      await storage.close();
    }
    assert.deepEqual(await readFile(path.join(out, 'io', 'a.bin')), specs[0]!.data);
    assert.deepEqual(await readFile(path.join(out, 'io', 'b.bin')), specs[1]!.data);
  });
}
