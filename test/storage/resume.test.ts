// Fast resume: the resume codec (strict, bounded, tied to its torrent) and which pieces a
// restart may trust without reading them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/bencode/index.js';
import { bitfieldHas, bitfieldOf, decodeResume, encodeResume, pieceTrust, PieceTrust, ResumeError, type FileStamp, type ResumeData } from '../../src/storage/index.js';
import { makeTorrent } from './fixture.js';

// Three files over 10-byte pieces: a = bytes 0-24 (pieces 0-2), b = 25-44 (pieces 2-4), c = 45-59 (pieces 4-5).
const torrent = makeTorrent('t', [
  { path: ['a'], data: Buffer.alloc(25, 1) },
  { path: ['b'], data: Buffer.alloc(20, 2) },
  { path: ['c'], data: Buffer.alloc(15, 3) },
], 10);
const stamps: FileStamp[] = [
  { size: 25, mtimeNs: 1_700_000_000_123_456_789n },
  { size: 20, mtimeNs: 1_700_000_000_223_456_789n },
  { size: 15, mtimeNs: 1_700_000_000_323_456_789n },
];
const held = [1, 1, 0, 1, 1, 1];

function resume(overrides: Partial<ResumeData> = {}): ResumeData {
  return { infoHash: torrent.infoHash, outDir: '/data/out', bitfield: bitfieldOf(held), files: stamps, uploaded: 5, downloaded: 60, ...overrides };
}

test('resume data round-trips, mtimes to the nanosecond', () => {
  const back = decodeResume(encodeResume(resume()), torrent);
  assert.deepEqual(back, resume());
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => bitfieldHas(back.bitfield, i)), held.map(Boolean));
});

test('resume data of another torrent, or of the wrong shape, is refused with the field named', () => {
  const other = makeTorrent('other', [{ path: ['a'], data: Buffer.alloc(60) }], 10);
  assert.throws(() => decodeResume(encodeResume(resume()), other), (e: unknown) => e instanceof ResumeError && e.field === 'info-hash');
  assert.throws(() => decodeResume(encodeResume(resume({ bitfield: Buffer.alloc(3) })), torrent), (e: unknown) => e instanceof ResumeError && e.field === 'pieces');
  assert.throws(() => decodeResume(encodeResume(resume({ files: stamps.slice(0, 2) })), torrent), (e: unknown) => e instanceof ResumeError && e.field === 'files');
  const badSize = encode({ 'info-hash': torrent.infoHash, 'out-dir': 'x', pieces: bitfieldOf(held), files: [[-5, 1], [20, 1], [15, 1]] });
  assert.throws(() => decodeResume(badSize, torrent), (e: unknown) => e instanceof ResumeError && e.field === 'files[0]');
  assert.throws(() => decodeResume(Buffer.from('d4:spam'), torrent), (e: unknown) => e instanceof ResumeError && e.field === 'bencode');
  assert.throws(() => decodeResume(Buffer.from('li1ee'), torrent), (e: unknown) => e instanceof ResumeError && e.field === 'root');
});

test('unchanged files: every piece is taken as recorded, held or missing, unread', () => {
  const trust = pieceTrust(torrent, resume(), stamps);
  assert.deepEqual([...trust], held.map((h) => (h ? PieceTrust.held : PieceTrust.missing)));
});

test('a touched file: only the pieces that touch it are checked', () => {
  const touched = stamps.map((s, i) => (i === 1 ? { ...s, mtimeNs: s.mtimeNs + 1n } : s));
  assert.deepEqual([...pieceTrust(torrent, resume(), touched)], [PieceTrust.held, PieceTrust.held, PieceTrust.check, PieceTrust.check, PieceTrust.check, PieceTrust.held]);
  const resized = stamps.map((s, i) => (i === 0 ? { ...s, size: 24 } : s));
  assert.deepEqual([...pieceTrust(torrent, resume(), resized)].slice(0, 4), [PieceTrust.check, PieceTrust.check, PieceTrust.check, PieceTrust.held]);
});

test('a missing file is never trusted, even when the record says it was missing too', () => {
  const gone: FileStamp = { size: -1, mtimeNs: 0n };
  const r = resume({ files: [gone, stamps[1]!, stamps[2]!] });
  const trust = pieceTrust(torrent, r, [gone, stamps[1]!, stamps[2]!]);
  assert.deepEqual([...trust].slice(0, 3), [PieceTrust.check, PieceTrust.check, PieceTrust.check]);
});
