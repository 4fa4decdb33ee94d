// TorrentStorage with a file selection: unselected files are never created, the bytes of
// boundary pieces that belong to them go to the part file only, and a later open that selects
// them moves those bytes into the files.
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PartFile } from '../../src/storage/part-file.js';
import { planSelection } from '../../src/storage/selection.js';
import { TorrentStorage } from '../../src/storage/storage.js';
import { prng, randomBytes } from '../helpers/random.js';
import { makeTorrent, pieceOf, streamOf, type FileSpec } from './fixture.js';

let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'pytor-sel-storage-'));
});
after(() => rm(root, { recursive: true, force: true }));

const exists = (p: string) => access(p).then(() => true, () => false);
const PL = 1000;
const r = prng(7);
// Boundaries inside pieces: a = [0, 1500), b = [1500, 3700), c = [3700, 4100), d = [4100, 6000)
const specs: FileSpec[] = [
  { path: ['a.bin'], data: randomBytes(r, 1500) },
  { path: ['sub', 'b.bin'], data: randomBytes(r, 2200) },
  { path: ['c.bin'], data: randomBytes(r, 400) },
  { path: ['d.bin'], data: randomBytes(r, 1900) },
];
const torrent = makeTorrent('sel', specs, PL);
const stream = streamOf(specs);

test('selecting b only: a, c, d never created; boundary pieces kept whole in the part file', async () => {
  const out = path.join(root, 'one');
  const wanted = [false, true, false, false];
  const plan = planSelection(torrent, wanted);
  const storage = await TorrentStorage.open(torrent, out, { wantedFiles: wanted });
  const pieces = [...plan.wantedPieces.keys()].filter((i) => plan.wantedPieces[i]);
  assert.deepEqual(pieces, [1, 2, 3]);
  for (const i of pieces) await storage.writePiece(i, pieceOf(torrent, stream, i));
  // Reads give whole pieces back, boundary ones included (what a seed serves).
  for (const i of pieces) assert.deepEqual(await storage.readPiece(i), pieceOf(torrent, stream, i));
  assert.deepEqual(await storage.readBlock(3, 600, 300), pieceOf(torrent, stream, 3).subarray(600, 900));
  await storage.close();
  assert.deepEqual((await readdir(path.join(out, 'sel'))).sort(), ['sub']);
  assert.deepEqual(await readFile(path.join(out, 'sel', 'sub', 'b.bin')), specs[1]!.data);
  const part = await PartFile.open(out, torrent);
  assert.deepEqual(part.pieces(), [1, 3]); // piece 2 lies inside b
  await part.close();

  // A new open with the same selection finds the three pieces again (1 and 3 from the part file).
  const again = await TorrentStorage.open(torrent, out, { wantedFiles: wanted });
  const valid = await again.checkExisting();
  await again.close();
  assert.deepEqual(valid.map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [1, 2, 3]);

  // Selecting everything later: boundary bytes move into a, c and d, and the part file goes.
  const all = await TorrentStorage.open(torrent, out);
  const validAll = await all.checkExisting();
  assert.deepEqual(validAll.map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [1, 2, 3]);
  for (const i of [0, 4, 5]) await all.writePiece(i, pieceOf(torrent, stream, i));
  await all.close();
  for (const s of specs) assert.deepEqual(await readFile(path.join(out, 'sel', ...s.path)), s.data);
  assert.equal(await exists(path.join(out, '.pytor')), false);
});

test('seeding (read-only) what a selective download left: boundary pieces come from the part file, which stays untouched', async () => {
  const out = path.join(root, 'seed-after-select');
  const wanted = [false, true, false, false];
  const storage = await TorrentStorage.open(torrent, out, { wantedFiles: wanted });
  for (const i of [1, 2, 3]) await storage.writePiece(i, pieceOf(torrent, stream, i));
  await storage.close();
  const partPath = PartFile.pathFor(out, torrent.infoHashHex);
  const before = await readFile(partPath);

  const seed = await TorrentStorage.open(torrent, out, { readOnly: true });
  const valid = await seed.checkExisting();
  assert.deepEqual(valid.map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [1, 2, 3], 'pieces 1 and 3 span unselected files: only the part file has them');
  assert.deepEqual(await seed.readBlock(1, 100, 800), pieceOf(torrent, stream, 1).subarray(100, 900));
  assert.deepEqual(await seed.readBlock(3, 600, 300), pieceOf(torrent, stream, 3).subarray(600, 900));
  await assert.rejects(seed.writePiece(0, pieceOf(torrent, stream, 0)));
  await seed.close();

  assert.deepEqual(await readFile(partPath), before, 'the part file is not changed by seeding');
  assert.deepEqual((await readdir(path.join(out, 'sel'))).sort(), ['sub'], 'no unselected file was created');
});
