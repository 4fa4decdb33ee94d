// PartFile on real files in a temp folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PART_DIR, PartFile, PartFileError } from '../../src/storage/part-file.js';
import { planSelection } from '../../src/storage/selection.js';
import { verifyPiece } from '../../src/storage/verify.js';
import { prng } from '../helpers/random.js';
import { makeTorrent, pieceOf, streamOf, type FileSpec } from './fixture.js';

function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// Three files over pieces of 1000 bytes: a = 0..1500, b = 1500..4200, c = 4200..4700 (last piece 700).
const specs: FileSpec[] = [
  { path: ['a.bin'], data: randomBytes(1500, 1) },
  { path: ['b.bin'], data: randomBytes(2700, 2) },
  { path: ['c.bin'], data: randomBytes(500, 3) },
];
const torrent = makeTorrent('parts', specs, 1000);
const stream = streamOf(specs);
const piece = (i: number) => Buffer.from(pieceOf(torrent, stream, i));

let root: string;
let n = 0;
const freshDir = async () => {
  const d = path.join(root, `out${n++}`);
  await mkdir(d);
  return d;
};

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pytor-parts-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('nothing is created until a piece is written', async () => {
  const out = await freshDir();
  const pf = await PartFile.open(out, torrent);
  assert.deepEqual(pf.pieces(), []);
  assert.equal(await pf.read(1), undefined);
  await pf.close();
  await pf.close(); // twice is fine
  assert.deepEqual(await readdir(out), []);
});

test('pieces written in one run are read back by the next', async () => {
  const out = await freshDir();
  const first = await PartFile.open(out, torrent);
  await first.write(4, piece(4)); // the short last piece
  await first.write(1, piece(1));
  assert.deepEqual(first.pieces(), [1, 4]);
  assert.ok((await first.read(4))!.equals(piece(4)));
  await first.close();
  assert.equal(PartFile.pathFor(out, torrent.infoHashHex), path.join(out, PART_DIR, `${torrent.infoHashHex}.parts`));
  await stat(PartFile.pathFor(out, torrent.infoHashHex));

  const second = await PartFile.open(out, torrent);
  assert.deepEqual(second.pieces(), [1, 4]);
  assert.ok((await second.read(1))!.equals(piece(1)));
  assert.ok((await second.read(4))!.equals(piece(4)));
  assert.equal(await second.read(0), undefined);
  await assert.rejects(second.write(0, Buffer.alloc(10)), (e: unknown) => e instanceof PartFileError && e.code === 'EPARTFILE_RANGE');
  await assert.rejects(second.write(9, Buffer.alloc(1000)), { code: 'EPARTFILE_RANGE' });
  await second.remove(1);
  await second.close();
  await assert.rejects(second.read(4), { code: 'EPARTFILE_CLOSED' });

  const third = await PartFile.open(out, torrent);
  assert.deepEqual(third.pieces(), [4]);
  await third.remove(4);
  await third.close();
  assert.deepEqual(await readdir(out), [], 'an empty part file and its folder are removed');
});

test('a later run that selects more files takes the boundary bytes from the part file', async () => {
  const out = await freshDir();
  // Run 1 wants only b: pieces 1..4, of which 1 (a's tail) and 4 (c) are boundary pieces.
  const run1 = planSelection(torrent, [false, true, false]);
  assert.deepEqual([...run1.boundary.keys()], [1, 4]);
  const pf1 = await PartFile.open(out, torrent);
  for (const p of run1.boundary.keys()) await pf1.write(p, piece(p));
  await pf1.close();
  // Run 2 adds a: a's bytes in piece 1 come from the part file, never re-downloaded.
  const run2 = planSelection(torrent, [true, true, false]);
  const pf2 = await PartFile.open(out, torrent);
  const kept = await pf2.read(1);
  assert.ok(kept && verifyPiece(torrent, 1, kept));
  const aRange = run1.boundary.get(1)![0]!;
  assert.deepEqual({ file: aRange.fileIndex, at: aRange.fileOffset }, { file: 0, at: 1000 });
  assert.ok(kept.subarray(aRange.begin, aRange.begin + aRange.length).equals(specs[0]!.data.subarray(1000)));
  // Piece 1 is no longer a boundary piece for run 2 and can leave the part file; 4 stays.
  assert.deepEqual([...run2.boundary.keys()], [4]);
  await pf2.remove(1);
  assert.deepEqual(pf2.pieces(), [4]);
  await pf2.close();
});

test('bytes that no longer match their record are dropped, not returned', async () => {
  const out = await freshDir();
  const pf = await PartFile.open(out, torrent);
  await pf.write(2, piece(2));
  await pf.close();
  const file = PartFile.pathFor(out, torrent.infoHashHex);
  const raw = await readFile(file);
  raw.writeUInt8(raw.readUInt8(raw.length - 1) ^ 0xff, raw.length - 1); // the last byte of slot 0's data
  await writeFile(file, raw);
  const again = await PartFile.open(out, torrent);
  assert.deepEqual(again.pieces(), [2]);
  assert.equal(await again.read(2), undefined);
  assert.deepEqual(again.pieces(), []);
  await again.close();
});

test('a foreign or damaged file is replaced, without allocating what its header claims', async () => {
  for (const [what, bytes] of [
    ['garbage', randomBytes(100, 9)],
    ['huge slot count', Buffer.concat([Buffer.from('PYTORPRT'), Buffer.from([0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]), Buffer.alloc(16)])],
    ['other torrent geometry', Buffer.concat([Buffer.from('PYTORPRT'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0x40, 0, 0, 0, 0, 5]), Buffer.alloc(8)])],
    ['empty', Buffer.alloc(0)],
  ] as const) {
    const out = await freshDir();
    await mkdir(path.join(out, PART_DIR));
    await writeFile(PartFile.pathFor(out, torrent.infoHashHex), bytes);
    const pf = await PartFile.open(out, torrent);
    assert.deepEqual(pf.pieces(), [], what);
    await pf.write(3, piece(3));
    assert.ok((await pf.read(3))!.equals(piece(3)), what);
    await pf.close();
  }
});

test('the index is bounded: a full part file refuses a new piece but rewrites a kept one', async () => {
  const out = await freshDir();
  const pf = await PartFile.open(out, torrent, { slots: 2 });
  await pf.write(0, piece(0));
  await pf.write(1, piece(1));
  await assert.rejects(pf.write(2, piece(2)), { code: 'EPARTFILE_FULL' });
  await pf.write(1, piece(1));
  await pf.remove(0);
  await pf.write(2, piece(2)); // the freed slot is reused
  assert.deepEqual(pf.pieces(), [1, 2]);
  await pf.close();
  const size = (await stat(PartFile.pathFor(out, torrent.infoHashHex))).size;
  assert.ok(size <= 32 + 2 * 32 + 2 * 1000, `file of ${size} bytes for 2 slots`);
  await assert.rejects(PartFile.open(out, torrent, { slots: 0 }), RangeError);
});

test('a .pytor that is a symlink is refused', async () => {
  const out = await freshDir();
  const elsewhere = await freshDir();
  await symlink(elsewhere, path.join(out, PART_DIR));
  await writeFile(path.join(elsewhere, `${torrent.infoHashHex}.parts`), Buffer.alloc(0));
  await assert.rejects(PartFile.open(out, torrent), { code: 'EPARTFILE_IO' });
  const fresh = await freshDir();
  await symlink(elsewhere, path.join(fresh, PART_DIR));
  await rm(path.join(elsewhere, `${torrent.infoHashHex}.parts`));
  await assert.rejects(PartFile.open(fresh, torrent), { code: 'EPARTFILE_IO' });
  assert.deepEqual(await readdir(elsewhere), [], 'nothing written through the link');
});
