// --select / --only / --exclude turned into per-file flags, and which file --stdout writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectionFor, streamedFile } from '../../src/cli/transfer-options.js';
import { makeTorrent } from '../storage/fixture.js';

const t = makeTorrent('box', [
  { path: ['video', 'a.mkv'], data: Buffer.alloc(10) },
  { path: ['video', 'b.mkv'], data: Buffer.alloc(10) },
  { path: ['subs', 'a.srt'], data: Buffer.alloc(10) },
  { path: ['.hidden', 'x.mkv'], data: Buffer.alloc(10) },
  { path: ['readme.txt'], data: Buffer.alloc(10) },
], 16);
const opts = (o: Partial<Parameters<typeof selectionFor>[0]>) => ({ only: [], exclude: [], ...o });

test('no flag: every file (undefined)', () => {
  assert.equal(selectionFor(opts({}), t), undefined);
});

test('--select takes 1-based numbers and ranges', () => {
  assert.deepEqual(selectionFor(opts({ select: '1,3-4' }), t), [true, false, true, true, false]);
});

test('--only and --exclude match the path inside the torrent, dot folders included', () => {
  assert.deepEqual(selectionFor(opts({ only: ['**/*.mkv'] }), t), [true, true, false, true, false]);
  assert.deepEqual(selectionFor(opts({ only: ['**/*.mkv'], exclude: ['video/b*'] }), t), [true, false, false, true, false]);
  assert.deepEqual(selectionFor(opts({ select: '1-3', exclude: ['subs/**'] }), t), [true, true, false, false, false]);
  assert.throws(() => selectionFor(opts({ only: ['*.iso'] }), t), /no file with data is selected/);
  assert.throws(() => selectionFor(opts({ select: '9' }), t), /has 5 files/);
});

test('--stdout needs exactly one file', () => {
  assert.throws(() => selectionFor(opts({ stdout: true }), t), /exactly one selected file \(5 selected\)/);
  assert.deepEqual(selectionFor(opts({ stdout: true, select: '2' }), t), [false, true, false, false, false]);
  assert.equal(streamedFile(t, [false, true, false, false, false]), 1);
  const single = makeTorrent('one.bin', [{ path: ['one.bin'], data: Buffer.alloc(5) }], 16, false);
  assert.equal(streamedFile(single, undefined), 0);
});
