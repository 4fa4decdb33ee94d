import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_BYTES, PieceReadCache } from '../../src/session/read-cache.js';

const PIECE = 256 * 1024;

/** A fake disk: piece i's byte at offset o is (i * 7 + o) & 0xff; counts reads. */
function disk(pieces: number, lastPiece = PIECE) {
  const reads: { index: number; begin: number; length: number }[] = [];
  const sizeOf = (i: number) => (i === pieces - 1 ? lastPiece : PIECE);
  const readInto = async (index: number, begin: number, target: Buffer) => {
    reads.push({ index, begin, length: target.length });
    await Promise.resolve();
    for (let k = 0; k < target.length; k++) target[k] = (index * 7 + begin + k) & 0xff;
  };
  return { reads, sizeOf, readInto };
}

function expected(index: number, begin: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let k = 0; k < length; k++) b[k] = (index * 7 + begin + k) & 0xff;
  return b;
}

test('one read serves every block of a chunk, and a lease is a view of the right bytes', async () => {
  const d = disk(4);
  const cache = new PieceReadCache(d.readInto, d.sizeOf, 4 * PIECE, PIECE);
  for (let begin = 0; begin < PIECE; begin += 16384) {
    const lease = await cache.block(2, begin, 16384);
    assert.deepEqual(lease.data, expected(2, begin, 16384));
    lease.release();
  }
  assert.equal(d.reads.length, 1);
  assert.deepEqual(d.reads[0], { index: 2, begin: 0, length: PIECE });
});

test('an evicted chunk is reused only after its last lease is released', async () => {
  const d = disk(8);
  // Room for two chunks.
  const cache = new PieceReadCache(d.readInto, d.sizeOf, 2 * PIECE, PIECE);
  const held = await cache.block(0, 0, 16384);
  const copy = Buffer.from(held.data);
  (await cache.block(1, 0, 16384)).release();
  (await cache.block(2, 0, 16384)).release(); // evicts piece 0 (still leased)
  assert.equal(cache.freeSlabs, 0, 'a leased slab must not be free');
  (await cache.block(3, 0, 16384)).release(); // evicts piece 1: its slab is free, then reused for 3
  (await cache.block(4, 0, 16384)).release();
  assert.deepEqual(held.data, copy, 'bytes under a lease changed');
  held.release();
  held.release(); // a second release is harmless
  assert.ok(cache.freeSlabs >= 1, 'the released slab went back to the free list');
  // Slabs come back: reading many more chunks allocates no more than the cache holds.
  for (let i = 0; i < 8; i++) (await cache.block(i, 16384, 16384)).release();
  assert.ok(cache.freeSlabs <= 2, `free list bounded by the cache size, got ${cache.freeSlabs}`);
});

test('a short last piece and a block across a chunk edge read correctly', async () => {
  const d = disk(3, 5000);
  const cache = new PieceReadCache(d.readInto, d.sizeOf, 4 * PIECE, PIECE);
  const last = await cache.block(2, 1000, 4000);
  assert.deepEqual(last.data, expected(2, 1000, 4000));
  last.release();
  await assert.rejects(cache.block(2, 4000, 2000), RangeError);

  const big = disk(1, 4 * CHUNK_BYTES);
  const bigCache = new PieceReadCache(big.readInto, big.sizeOf, 4 * CHUNK_BYTES, 4 * CHUNK_BYTES);
  const across = await bigCache.block(0, CHUNK_BYTES - 100, 16384);
  assert.deepEqual(across.data, expected(0, CHUNK_BYTES - 100, 16384));
  across.release();
});

test('a failed read is not cached; clear() drops everything and later reads still work', async () => {
  let fail = true;
  const d = disk(2);
  const cache = new PieceReadCache(
    async (i, b, t) => {
      if (fail) throw new Error('EIO');
      return d.readInto(i, b, t);
    },
    d.sizeOf,
    4 * PIECE,
    PIECE,
  );
  await assert.rejects(cache.block(0, 0, 16384), /EIO/);
  fail = false;
  const a = await cache.block(0, 0, 16384);
  assert.deepEqual(a.data, expected(0, 0, 16384));
  cache.clear();
  assert.deepEqual(a.data, expected(0, 0, 16384), 'a lease survives clear()');
  a.release();
  const b = await cache.block(0, 16384, 16384);
  assert.deepEqual(b.data, expected(0, 16384, 16384));
  b.release();
});
