import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pieceSpans } from '../../src/storage/file-map.js';
import { parseSelect, planSelection, selectFiles, SelectionError, type UnwantedRange } from '../../src/storage/selection.js';
import { prng } from '../helpers/random.js';
import { makeTorrent, type FileSpec } from './fixture.js';

const spec = (path: string, size: number, padding = false): FileSpec => ({ path: path.split('/'), data: Buffer.alloc(size), padding });

test('parseSelect: 1-based numbers and inclusive ranges', () => {
  assert.deepEqual([...parseSelect('1,3-5', 5)].sort(), [0, 2, 3, 4]);
  assert.deepEqual([...parseSelect(' 2 , 2-3 ', 3)].sort(), [1, 2]);
  assert.deepEqual([...parseSelect('4-4', 4)], [3]);
});

test('parseSelect: clear errors', () => {
  const cases: [string, RegExp][] = [
    ['', /"" is not a file number or range/],
    ['1,,2', /"" is not a file number/],
    ['a', /"a" is not a file number/],
    ['0', /file numbers start at 1/],
    ['5-3', /range goes backwards/],
    ['1-6', /"1-6": the torrent has 5 files/],
    ['-1', /not a file number/],
    ['1.5', /not a file number/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseSelect(text, 5), (e: unknown) => e instanceof SelectionError && e.code === 'ESELECT' && re.test(e.message), text);
  }
  assert.throws(() => parseSelect(Array(10_001).fill('1').join(','), 5), /more than 10000 items/);
});

test('selectFiles: indices, then only, then exclude; pad files never; nothing left is an error', () => {
  const t = makeTorrent('x', [spec('a/one.txt', 10), spec('a/two.iso', 10), spec('.pad/6', 6, true), spec('b/three.txt', 10), spec('empty.txt', 0)], 16);
  const ends = (s: string) => (p: string) => p.endsWith(s);
  assert.deepEqual(selectFiles(t, {}), [true, true, false, true, true]);
  assert.deepEqual(selectFiles(t, { indices: new Set([0, 1, 2]) }), [true, true, false, false, false]);
  assert.deepEqual(selectFiles(t, { only: [ends('.txt')] }), [true, false, false, true, true]);
  assert.deepEqual(selectFiles(t, { only: [ends('.txt'), ends('.iso')], exclude: [(p) => p.startsWith('b/')] }), [true, true, false, false, true]);
  const seen: string[] = [];
  selectFiles(t, { only: [(p) => (seen.push(p), true)] });
  assert.deepEqual(seen, ['a/one.txt', 'a/two.iso', 'b/three.txt', 'empty.txt'], 'predicates see paths below the torrent folder; pad files are not offered');
  assert.throws(() => selectFiles(t, { indices: new Set([4]) }), /no file with data is selected/);
  assert.throws(() => selectFiles(t, { exclude: [() => true] }), SelectionError);
});

test('planSelection: wanted pieces and the unwanted bytes of boundary pieces', () => {
  // pieces of 10: [a 0-7][b 7-25][c 25-27][pad 27-30][d 30-45]
  const t = makeTorrent('x', [spec('a', 7), spec('b', 18), spec('c', 2), spec('.pad/3', 3, true), spec('d', 15)], 10);
  assert.equal(t.pieces.length, 5);
  const plan = planSelection(t, [false, true, false, false, false]);
  assert.deepEqual([...plan.wantedPieces], [1, 1, 1, 0, 0]);
  assert.equal(plan.wantedPieceCount, 3);
  assert.equal(plan.wantedBytes, 18);
  assert.deepEqual([...plan.boundary.entries()], [
    [0, [{ piece: 0, begin: 0, length: 7, fileIndex: 0, fileOffset: 0 }]],
    [2, [{ piece: 2, begin: 5, length: 2, fileIndex: 2, fileOffset: 0 }]], // the pad's 3 bytes need no part file
  ]);
  const lastOnly = planSelection(t, [false, false, false, false, true]);
  assert.deepEqual([...lastOnly.wantedPieces], [0, 0, 0, 1, 1]);
  assert.deepEqual([...lastOnly.boundary.keys()], [], 'piece 3 starts with d itself');
  assert.throws(() => planSelection(t, [true]), RangeError);
});

test('planSelection agrees with a byte-by-byte reference on random torrents and selections', () => {
  const rand = prng(7);
  for (let round = 0; round < 300; round++) {
    const pieceLength = 1 + Math.floor(rand() * 40);
    const n = 1 + Math.floor(rand() * 8);
    const specs: FileSpec[] = [];
    for (let i = 0; i < n; i++) {
      const size = rand() < 0.15 ? 0 : Math.floor(rand() * 60);
      specs.push(spec(`f${i}`, size, rand() < 0.1 && size > 0));
    }
    const t = makeTorrent('r', specs, pieceLength);
    if (t.length === 0) continue;
    const wanted = t.files.map((f) => !f.padding && rand() < 0.5);
    const plan = planSelection(t, wanted);
    for (let p = 0; p < t.pieces.length; p++) {
      const spans = pieceSpans(t, p);
      const isWanted = spans.some((s) => wanted[s.fileIndex] && !s.padding);
      assert.equal(plan.wantedPieces[p], isWanted ? 1 : 0, `round ${round} piece ${p}`);
      const expected: UnwantedRange[] = isWanted
        ? spans
            .filter((s) => !wanted[s.fileIndex] && !s.padding)
            .map((s) => ({ piece: p, begin: s.bufferOffset, length: s.length, fileIndex: s.fileIndex, fileOffset: s.fileOffset }))
        : [];
      assert.deepEqual(plan.boundary.get(p) ?? [], expected, `round ${round} piece ${p}`);
    }
  }
});
