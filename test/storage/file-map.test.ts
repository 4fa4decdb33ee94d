import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteRangeSpans, pieceSpans, type FileSpan } from '../../src/storage/file-map.js';
import { StorageError } from '../../src/storage/errors.js';
import { makeTorrent, type FileSpec } from './fixture.js';
import { prng } from '../helpers/random.js';

const bytes = (n: number, fill = 1): Buffer => Buffer.alloc(n, fill);

/** The reference: walk every byte, find its file by linear search, merge runs. */
function naiveSpans(files: readonly { length: number; offset: number; padding: boolean }[], start: number, length: number): FileSpan[] {
  const spans: FileSpan[] = [];
  for (let b = 0; b < length; b++) {
    const pos = start + b;
    const fileIndex = files.findIndex((f) => pos >= f.offset && pos < f.offset + f.length);
    assert.notEqual(fileIndex, -1, `byte ${pos} has no file`);
    const f = files[fileIndex]!;
    const last = spans[spans.length - 1];
    if (last && last.fileIndex === fileIndex) {
      spans[spans.length - 1] = { ...last, length: last.length + 1 };
    } else {
      spans.push({ fileIndex, fileOffset: pos - f.offset, length: 1, bufferOffset: b, padding: f.padding });
    }
  }
  return spans;
}

describe('pieceSpans', () => {
  it('maps a piece crossing several files', () => {
    const t = makeTorrent('x', [
      { path: ['a'], data: bytes(3) },
      { path: ['b'], data: bytes(5) },
      { path: ['c'], data: bytes(2) },
      { path: ['d'], data: bytes(7) },
    ], 8);
    assert.equal(t.pieces.length, 3);
    assert.deepEqual(pieceSpans(t, 0), [
      { fileIndex: 0, fileOffset: 0, length: 3, bufferOffset: 0, padding: false },
      { fileIndex: 1, fileOffset: 0, length: 5, bufferOffset: 3, padding: false },
    ]);
    assert.deepEqual(pieceSpans(t, 1), [
      { fileIndex: 2, fileOffset: 0, length: 2, bufferOffset: 0, padding: false },
      { fileIndex: 3, fileOffset: 0, length: 6, bufferOffset: 2, padding: false },
    ]);
    // Short last piece: 17 bytes, 8-byte pieces -> 1 byte.
    assert.deepEqual(pieceSpans(t, 2), [{ fileIndex: 3, fileOffset: 6, length: 1, bufferOffset: 0, padding: false }]);
  });

  it('never yields spans for zero-length files, wherever they sit', () => {
    const t = makeTorrent('x', [
      { path: ['empty0'], data: bytes(0) },
      { path: ['a'], data: bytes(4) },
      { path: ['empty1'], data: bytes(0) },
      { path: ['empty2'], data: bytes(0) },
      { path: ['b'], data: bytes(4) },
      { path: ['empty3'], data: bytes(0) },
    ], 4);
    assert.deepEqual(pieceSpans(t, 0), [{ fileIndex: 1, fileOffset: 0, length: 4, bufferOffset: 0, padding: false }]);
    assert.deepEqual(pieceSpans(t, 1), [{ fileIndex: 4, fileOffset: 0, length: 4, bufferOffset: 0, padding: false }]);
    const wide = makeTorrent('x', [
      { path: ['a'], data: bytes(3) },
      { path: ['e'], data: bytes(0) },
      { path: ['b'], data: bytes(3) },
    ], 6);
    assert.deepEqual(pieceSpans(wide, 0).map((s) => s.fileIndex), [0, 2]);
  });

  it('marks pad-file spans', () => {
    const t = makeTorrent('x', [
      { path: ['a'], data: bytes(5) },
      { path: ['.pad', '3'], data: bytes(3, 0), padding: true },
      { path: ['b'], data: bytes(4) },
    ], 8);
    assert.deepEqual(pieceSpans(t, 0), [
      { fileIndex: 0, fileOffset: 0, length: 5, bufferOffset: 0, padding: false },
      { fileIndex: 1, fileOffset: 0, length: 3, bufferOffset: 5, padding: true },
    ]);
    assert.deepEqual(pieceSpans(t, 1), [{ fileIndex: 2, fileOffset: 0, length: 4, bufferOffset: 0, padding: false }]);
  });

  it('maps a block inside a piece', () => {
    const t = makeTorrent('x', [{ path: ['a'], data: bytes(10) }, { path: ['b'], data: bytes(10) }], 16);
    assert.deepEqual(pieceSpans(t, 0, 8, 4), [
      { fileIndex: 0, fileOffset: 8, length: 2, bufferOffset: 0, padding: false },
      { fileIndex: 1, fileOffset: 0, length: 2, bufferOffset: 2, padding: false },
    ]);
    assert.deepEqual(pieceSpans(t, 1, 2), [{ fileIndex: 1, fileOffset: 8, length: 2, bufferOffset: 0, padding: false }]);
    assert.deepEqual(pieceSpans(t, 0, 3, 0), []);
  });

  it('refuses out-of-range pieces and blocks with ERANGE', () => {
    const t = makeTorrent('x', [{ path: ['a'], data: bytes(20) }], 16);
    for (const [i, b, l] of [[-1, 0, 1], [2, 0, 1], [0.5, 0, 1], [1, 0, 5], [1, 4, 1], [0, -1, 2], [0, 15, 2], [0, 0, 17]] as const) {
      assert.throws(() => pieceSpans(t, i, b, l), (e: unknown) => e instanceof StorageError && e.code === 'ERANGE', `${i},${b},${l}`);
    }
  });

  it('agrees with a naive byte-by-byte mapping on random geometries', () => {
    const rand = prng(47);
    for (let round = 0; round < 300; round++) {
      const specs: FileSpec[] = [];
      const fileCount = 1 + Math.floor(rand() * 8);
      for (let f = 0; f < fileCount; f++) {
        const kind = rand();
        const len = kind < 0.25 ? 0 : 1 + Math.floor(rand() * 40);
        specs.push({ path: [`f${f}`], data: bytes(len, 0), padding: kind > 0.85 });
      }
      if (specs.every((s) => s.data.length === 0)) specs.push({ path: ['last'], data: bytes(1) });
      const pieceLength = 1 + Math.floor(rand() * 32);
      const t = makeTorrent('r', specs, pieceLength);
      for (let p = 0; p < t.pieces.length; p++) {
        const size = Math.min(pieceLength, t.length - p * pieceLength);
        assert.deepEqual(pieceSpans(t, p), naiveSpans(t.files, p * pieceLength, size), `round ${round} piece ${p}`);
        const begin = Math.floor(rand() * size);
        const len = Math.floor(rand() * (size - begin + 1));
        assert.deepEqual(pieceSpans(t, p, begin, len), naiveSpans(t.files, p * pieceLength + begin, len));
      }
      // The spans of all pieces tile the stream exactly once.
      const total = t.pieces.reduce((n, _h, p) => n + pieceSpans(t, p).reduce((m, s) => m + s.length, 0), 0);
      assert.equal(total, t.length);
    }
  });

  it('reports a file list that does not cover the range', () => {
    const files = [{ path: ['a'], length: 4, offset: 0, padding: false }];
    assert.throws(() => byteRangeSpans(files, 2, 4), (e: unknown) => e instanceof StorageError && e.code === 'ERANGE');
  });
});
