// crashTrust: after an unclean exit, held pieces of files that only got newer stay held and
// missing ones stay missing (nothing read); any other change falls back to a check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashTrust } from '../../src/client/crash-trust.js';
import { bitfieldOf, pieceTrust, PieceTrust, type ResumeData } from '../../src/storage/index.js';

// Two files of 5 bytes, pieces of 3 bytes:
const torrent = {
  pieceLength: 3,
  length: 10,
  pieces: [0, 1, 2, 3].map(() => Buffer.alloc(20)),
  files: [
    { path: ['a'], length: 5, offset: 0, padding: false },
    { path: ['b'], length: 5, offset: 5, padding: false },
  ],
};
// Pieces: 0 = a[0..3), 1 = a[3..5)+b[0..1), 2 = b[1..4), 3 = b[4..5).
const stamp = (size: number, mtimeNs: bigint) => ({ size, mtimeNs });
const resume: ResumeData = {
  infoHash: Buffer.alloc(20),
  outDir: '/x',
  bitfield: bitfieldOf([1, 0, 1, 0]),
  files: [stamp(5, 100n), stamp(5, 100n)],
  uploaded: 0,
  downloaded: 0,
};
const { held, missing, check } = PieceTrust;

test('unchanged files: the same answer as pieceTrust', () => {
  const now = [stamp(5, 100n), stamp(5, 100n)];
  assert.deepEqual([...crashTrust(torrent, resume, now)], [...pieceTrust(torrent, resume, now)]);
  assert.deepEqual([...crashTrust(torrent, resume, now)], [held, missing, held, missing]);
});

test('files written after the last save (same size, newer): trusted, nothing checked', () => {
  const now = [stamp(5, 200n), stamp(5, 300n)];
  assert.deepEqual([...pieceTrust(torrent, resume, now)], [check, check, check, check], 'pieceTrust would hash everything');
  assert.deepEqual([...crashTrust(torrent, resume, now)], [held, missing, held, missing]);
});

test('a file that got older, changed size or vanished is checked, with every piece touching it', () => {
  assert.deepEqual([...crashTrust(torrent, resume, [stamp(5, 50n), stamp(5, 100n)])], [check, check, held, missing]);
  assert.deepEqual([...crashTrust(torrent, resume, [stamp(5, 100n), stamp(4, 200n)])], [held, check, check, check]);
  assert.deepEqual([...crashTrust(torrent, resume, [stamp(-1, 0n), stamp(5, 100n)])], [check, check, held, missing]);
});
