// The daemon's torrent list: entries round-trip through bencode, are written atomically one
// file per torrent, and a damaged or foreign entry is reported and skipped, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeEntry, encodeEntry, sourceOfEntry, TorrentRegistry, type RegistryEntry } from '../../src/client/index.js';

const HASH_A = 'aa'.repeat(20);
const HASH_B = 'bb'.repeat(20);
const magnetEntry = (id: number, hex: string, over: Partial<RegistryEntry> = {}): RegistryEntry => ({
  id,
  infoHashHex: hex,
  addedAt: 1_750_000_000,
  outDir: '/data/downloads',
  paused: false,
  magnet: `magnet:?xt=urn:btih:${hex}&dn=x&x.pe=127.0.0.1:6881`,
  ...over,
});

test('an entry round-trips through its bencode', () => {
  const e = magnetEntry(7, HASH_A, { paused: true, doneAt: 1_750_000_100, maxPeers: 30, info: Buffer.from('d4:name1:xe') });
  assert.deepEqual(decodeEntry(encodeEntry(e)), { ...e, metainfo: undefined });
  // Files not wanted (-G) are kept too.
  const g = magnetEntry(8, HASH_A, { unwanted: [0, 3] });
  assert.deepEqual(decodeEntry(encodeEntry(g)).unwanted, [0, 3]);
  assert.throws(() => decodeEntry(encodeEntry({ ...g, unwanted: [-1] })), /unwanted/);
});

test('decodeEntry names the bad field', () => {
  const bad = (over: Record<string, unknown>) => encodeEntry({ ...magnetEntry(1, HASH_A), ...over } as RegistryEntry);
  assert.throws(() => decodeEntry(bad({ id: 0 })), /id: must be positive/);
  assert.throws(() => decodeEntry(bad({ infoHashHex: 'xyz' })), /info-hash/);
  assert.throws(() => decodeEntry(bad({ outDir: 'relative/dir' })), /out-dir: expected an absolute path/);
  assert.throws(() => decodeEntry(bad({ magnet: undefined })), /neither metainfo nor magnet/);
  assert.throws(() => decodeEntry(Buffer.from('le')), /not a dictionary/);
  assert.throws(() => decodeEntry(Buffer.from('d2:idi-1ee')), /whole number/);
});

test('a magnet entry gives its x.pe peers to the session too', () => {
  const { source, peers } = sourceOfEntry(magnetEntry(1, HASH_A));
  assert.ok('magnet' in source);
  assert.deepEqual(peers, [{ host: '127.0.0.1', port: 6881 }]);
});

test('save, load, remove; a damaged file, a misnamed one and a duplicate id are reported and skipped', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-registry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const reg = new TorrentRegistry(dir);
  assert.deepEqual(await reg.load(), { entries: [], problems: [] }, 'no folder yet: empty');
  // Writes of one torrent land in call order: the last one wins.
  await Promise.all([reg.save(magnetEntry(2, HASH_B)), reg.save(magnetEntry(2, HASH_B, { paused: true }))]);
  await reg.save(magnetEntry(1, HASH_A));
  const loaded = await reg.load();
  assert.deepEqual(
    loaded.entries.map((e) => [e.id, e.paused]),
    [
      [1, false],
      [2, true],
    ],
  );
  assert.deepEqual((await readdir(reg.folder)).sort(), [`${HASH_A}.torrent-entry`, `${HASH_B}.torrent-entry`], 'no temp files left');

  await writeFile(path.join(reg.folder, `${'cc'.repeat(20)}.torrent-entry`), 'garbage');
  await writeFile(path.join(reg.folder, `${'dd'.repeat(20)}.torrent-entry`), encodeEntry(magnetEntry(5, HASH_A)));
  await writeFile(path.join(reg.folder, `${'ee'.repeat(20)}.torrent-entry`), encodeEntry(magnetEntry(1, 'ee'.repeat(20))));
  const mixed = await reg.load();
  assert.deepEqual(
    mixed.entries.map((e) => e.id),
    [1, 2],
  );
  assert.equal(mixed.problems.length, 3, mixed.problems.join('\n'));
  assert.match(mixed.problems.join('\n'), /holds aaaa/);
  assert.match(mixed.problems.join('\n'), /id 1 is taken/);

  await reg.remove(HASH_B);
  assert.deepEqual(
    (await reg.load()).entries.map((e) => e.id),
    [1],
  );
});
