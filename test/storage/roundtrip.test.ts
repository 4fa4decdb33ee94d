// pytor create -> parseTorrent -> TorrentStorage: the created torrent verifies against its own
// source folder (what seeding it checks), and pieces copied through storage rebuild it exactly.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { createTorrent } from '../../src/metainfo/create.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { TorrentStorage } from '../../src/storage/storage.js';
import { prng, randomBytes } from '../helpers/random.js';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pytor-roundtrip-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it('a created multi-file torrent checks complete on its source and copies byte-identical', async () => {
  const rand = prng(77);
  const sourceParent = path.join(tmp, 'src');
  const root = path.join(sourceParent, 'bundle');
  const files: Record<string, Buffer> = {
    'one.bin': randomBytes(rand, 40_000),
    'empty': Buffer.alloc(0),
    'nested/two.bin': randomBytes(rand, 16_385),
    'nested/deeper/three.bin': randomBytes(rand, 70_001),
  };
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), data);
  }
  const made = await createTorrent(root, { pieceLength: 16 * 1024, noDate: true });
  const torrent = parseTorrent(made.torrent);
  assert.equal(torrent.infoHashHex, made.infoHashHex);

  const seed = await TorrentStorage.open(torrent, sourceParent, { readOnly: true });
  const copy = await TorrentStorage.open(torrent, path.join(tmp, 'dest'));
  try {
    assert.deepEqual(await seed.checkExisting(), torrent.pieces.map(() => true));
    for (let i = 0; i < torrent.pieces.length; i++) {
      const piece = await seed.readPiece(i);
      assert.ok(TorrentStorage.verifyPiece(torrent, i, piece));
      await copy.writePiece(i, piece);
    }
  } finally {
    await seed.close();
    await copy.close();
  }
  for (const [rel, data] of Object.entries(files)) {
    assert.deepEqual(await readFile(path.join(tmp, 'dest', 'bundle', rel)), data, rel);
  }
});
