// Deleting a torrent's data deletes what it names and nothing else: not the user's other
// files, not through a symlinked folder, not a symlink's target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deleteTorrentData } from '../../src/client/index.js';
import { createTorrent } from '../../src/metainfo/create.js';
import { parseTorrent } from '../../src/metainfo/index.js';

test('deleteTorrentData: own files and emptied folders only; symlinks never followed', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-delete-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  await mkdir(path.join(out, 'show', 'sub'), { recursive: true });
  await mkdir(path.join(out, 'show', 'linked'), { recursive: true });
  await writeFile(path.join(out, 'show', 'a.bin'), 'aaaa');
  await writeFile(path.join(out, 'show', 'sub', 'b.bin'), 'bbbb');
  await writeFile(path.join(out, 'show', 'linked', 'c.bin'), 'cccc');
  const torrent = parseTorrent((await createTorrent(path.join(out, 'show'), { noDate: true })).torrent);

  // Now make `linked` a symlink to a folder outside, holding a file of the same name, and
  // `a.bin` a symlink to a file outside.
  const outside = path.join(dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'c.bin'), 'precious');
  await writeFile(path.join(outside, 'a-target'), 'precious too');
  await rm(path.join(out, 'show', 'linked'), { recursive: true });
  await symlink(outside, path.join(out, 'show', 'linked'));
  await rm(path.join(out, 'show', 'a.bin'));
  await symlink(path.join(outside, 'a-target'), path.join(out, 'show', 'a.bin'));
  await writeFile(path.join(out, 'show', 'mine.txt'), 'user file');
  await mkdir(path.join(out, '.pytor'), { recursive: true });
  await writeFile(path.join(out, '.pytor', `${torrent.infoHashHex}.parts`), 'parts');

  const r = await deleteTorrentData(torrent, out);
  assert.equal(r.files, 3, 'b.bin, the a.bin symlink itself and the part file');
  assert.deepEqual(r.skipped, [path.join(out, 'show', 'linked', 'c.bin')]);
  assert.equal(await readFile(path.join(outside, 'c.bin'), 'utf8'), 'precious', 'nothing deleted through a symlinked folder');
  assert.equal(await readFile(path.join(outside, 'a-target'), 'utf8'), 'precious too', 'a symlinked file: the link goes, the target stays');
  assert.equal(existsSync(path.join(out, 'show', 'a.bin')), false);
  assert.equal(existsSync(path.join(out, 'show', 'sub')), false, 'an emptied folder goes');
  assert.equal(await readFile(path.join(out, 'show', 'mine.txt'), 'utf8'), 'user file', 'a file the torrent does not name stays (and its folder)');
  assert.equal(existsSync(path.join(out, '.pytor')), false, 'the emptied part-file folder goes');

  const again = await deleteTorrentData(torrent, out);
  assert.equal(again.files, 0, 'nothing left: not an error');
});
