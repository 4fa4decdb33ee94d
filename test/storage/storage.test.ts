import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, symlink, truncate, unlink, writeFile, lstat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Torrent } from '../../src/metainfo/types.js';
import { StorageError } from '../../src/storage/errors.js';
import { pieceSpans } from '../../src/storage/file-map.js';
import { checkPlan, TorrentStorage } from '../../src/storage/storage.js';
import { makeTorrent, pieceOf, streamOf, type FileSpec } from './fixture.js';
import { prng, randomBytes } from '../helpers/random.js';

let tmp: string;
let counter = 0;
/** A fresh folder with a sibling `outside` folder that nothing may touch. */
async function freshDirs(): Promise<{ out: string; outside: string }> {
  const base = path.join(tmp, `case${counter++}`);
  const out = path.join(base, 'out');
  const outside = path.join(base, 'outside');
  await mkdir(out, { recursive: true });
  await mkdir(outside);
  return { out, outside };
}

const isStorageError = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pytor-storage-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const rand = prng(3);
/** Nested folders, a zero-length file, a pad file, pieces crossing files, a short last piece. */
const specs: FileSpec[] = [
  { path: ['a.bin'], data: randomBytes(rand, 1000) },
  { path: ['sub', 'empty.txt'], data: Buffer.alloc(0) },
  { path: ['sub', 'b.bin'], data: randomBytes(rand, 300) },
  { path: ['.pad', '236'], data: Buffer.alloc(236), padding: true },
  { path: ['sub', 'deeper', 'c.bin'], data: randomBytes(rand, 2500) },
  { path: ['d.bin'], data: randomBytes(rand, 7) },
  { path: ['e.bin'], data: randomBytes(rand, 190) },
];
const torrent = makeTorrent('content', specs, 512);
const stream = streamOf(specs);

async function writeAll(storage: TorrentStorage, t: Torrent, s: Buffer, only?: (i: number) => boolean): Promise<void> {
  for (let i = 0; i < t.pieces.length; i++) {
    if (!only || only(i)) await storage.writePiece(i, pieceOf(t, s, i));
  }
}

/** Every file below `dir`, relative, sorted. */
async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((e) => path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)) + (e.isDirectory() ? '/' : ''))
    .sort();
}

describe('TorrentStorage', () => {
  it('writes every piece of a multi-file torrent and reads it back byte-identical', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    try {
      assert.ok(torrent.pieces.length > 5);
      await writeAll(storage, torrent, stream);
      for (let i = 0; i < torrent.pieces.length; i++) {
        assert.deepEqual(await storage.readPiece(i), pieceOf(torrent, stream, i), `piece ${i}`);
      }
      const block = await storage.readBlock(1, 400, 112); // crosses a.bin -> sub/b.bin
      assert.deepEqual(block, stream.subarray(912, 1024));
    } finally {
      await storage.close();
    }
    for (const s of specs.filter((f) => !f.padding)) {
      assert.deepEqual(await readFile(path.join(out, 'content', ...s.path)), s.data, s.path.join('/'));
    }
    assert.deepEqual(await listTree(out), [
      'content/',
      'content/a.bin',
      'content/d.bin',
      'content/e.bin',
      'content/sub/',
      'content/sub/b.bin',
      'content/sub/deeper/',
      'content/sub/deeper/c.bin',
      'content/sub/empty.txt',
    ]);
  });

  it('reads pad spans back as zeros', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    try {
      await writeAll(storage, torrent, stream);
      const padStart = 1300;
      const block = await storage.readBlock(Math.floor(padStart / 512), padStart % 512, 236);
      assert.deepEqual(block, Buffer.alloc(236));
    } finally {
      await storage.close();
    }
  });

  it('lays a single-file torrent at OUT/<name>, sized at once (sparse)', async () => {
    const { out } = await freshDirs();
    const data = randomBytes(prng(9), 5000);
    const single = makeTorrent('movie.mkv', [{ path: ['movie.mkv'], data }], 1024, false);
    const storage = await TorrentStorage.open(single, out);
    try {
      assert.equal((await stat(path.join(out, 'movie.mkv'))).size, 5000);
      await storage.writePiece(4, pieceOf(single, data, 4));
      await storage.writePiece(0, pieceOf(single, data, 0));
      assert.deepEqual(await storage.checkExisting(), [true, false, false, false, true]);
    } finally {
      await storage.close();
    }
    assert.deepEqual(await readdir(out), ['movie.mkv']);
  });

  it('refuses out-of-range reads and wrong-sized writes with ERANGE', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    try {
      const last = torrent.pieces.length - 1;
      const lastSize = torrent.length - last * 512;
      await assert.rejects(storage.readBlock(-1, 0, 16), isStorageError('ERANGE'));
      await assert.rejects(storage.readBlock(last + 1, 0, 16), isStorageError('ERANGE'));
      await assert.rejects(storage.readBlock(0, 500, 13), isStorageError('ERANGE'));
      await assert.rejects(storage.readBlock(0, 0, 0), isStorageError('ERANGE'));
      await assert.rejects(storage.readBlock(last, 0, lastSize + 1), isStorageError('ERANGE'));
      await assert.rejects(storage.writePiece(0, Buffer.alloc(511)), isStorageError('ERANGE'));
      await assert.rejects(storage.writePiece(last, Buffer.alloc(512)), isStorageError('ERANGE'));
      assert.equal((await storage.readBlock(last, 0, lastSize)).length, lastSize);
    } finally {
      await storage.close();
    }
  });

  it('checkExisting: nothing on a fresh folder, exactly the written pieces after partial writes', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    const progress: [number, number][] = [];
    try {
      assert.deepEqual(await storage.checkExisting(), torrent.pieces.map(() => false));
      const chosen = (i: number): boolean => i % 3 === 1;
      await writeAll(storage, torrent, stream, chosen);
      const found = await storage.checkExisting((done, total) => progress.push([done, total]));
      assert.deepEqual(found, torrent.pieces.map((_h, i) => chosen(i)));
    } finally {
      await storage.close();
    }
    assert.equal(progress.length, torrent.pieces.length);
    assert.deepEqual(progress.at(-1), [torrent.pieces.length, torrent.pieces.length]);
    // Resuming in a new storage sees the same pieces.
    const again = await TorrentStorage.open(torrent, out);
    try {
      assert.deepEqual(await again.checkExisting(), torrent.pieces.map((_h, i) => i % 3 === 1));
    } finally {
      await again.close();
    }
  });

  it('checkExisting: a truncated file, a corrupted byte and a missing file cost exactly their pieces', async () => {
    const { out } = await freshDirs();
    const first = await TorrentStorage.open(torrent, out);
    await writeAll(first, torrent, stream);
    await first.close();
    const dir = path.join(out, 'content');
    // Pieces touching a file, from the map itself.
    const touching = (fileIndex: number, from = 0): Set<number> => {
      const s = new Set<number>();
      torrent.pieces.forEach((_h, i) => {
        if (pieceSpans(torrent, i).some((sp) => sp.fileIndex === fileIndex && sp.fileOffset + sp.length > from)) s.add(i);
      });
      return s;
    };
    // c.bin (index 4) cut to 1000 bytes: pieces holding its bytes from 1000 on go.
    await truncate(path.join(dir, 'sub', 'deeper', 'c.bin'), 1000);
    // One byte of a.bin (index 0) at 700 flipped: piece 1 goes.
    const a = await readFile(path.join(dir, 'a.bin'));
    a[700] = a[700]! ^ 0xff;
    await writeFile(path.join(dir, 'a.bin'), a);
    // e.bin (index 6) deleted.
    await unlink(path.join(dir, 'e.bin'));
    const bad = new Set([...touching(4, 1000), 1, ...touching(6)]);
    assert.ok(bad.size < torrent.pieces.length && bad.size >= 3);
    const storage = await TorrentStorage.open(torrent, out);
    try {
      // One piece at a time or several, hashed on the main thread or the thread pool: the same.
      for (const plan of [{ lanes: 1, offThread: false }, { lanes: 2, offThread: false }, { lanes: 2, offThread: true }, { lanes: 5, offThread: true }]) {
        const progress: number[] = [];
        const found = await storage.checkExisting((done) => progress.push(done), undefined, plan);
        assert.deepEqual(found, torrent.pieces.map((_h, i) => !bad.has(i)), JSON.stringify(plan));
        assert.deepEqual(progress, torrent.pieces.map((_h, i) => i + 1), `${JSON.stringify(plan)}: progress counts up to every piece`);
      }
      // open() restored the missing and short files to full length for the download.
      assert.equal((await stat(path.join(dir, 'e.bin'))).size, 190);
      assert.equal((await stat(path.join(dir, 'sub', 'deeper', 'c.bin'))).size, 2500);
    } finally {
      await storage.close();
    }
  });

  it('read-only: creates nothing, counts missing files as missing pieces, refuses writes', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, path.join(out, 'not-there'), { readOnly: true });
    try {
      assert.deepEqual(await storage.checkExisting(), torrent.pieces.map(() => false));
      await assert.rejects(storage.writePiece(0, pieceOf(torrent, stream, 0)), isStorageError('EREADONLY'));
      await assert.rejects(storage.readPiece(0), isStorageError('EIO'));
    } finally {
      await storage.close();
    }
    assert.deepEqual(await readdir(out), []);
  });

  it('readPiece on a file shortened under it throws ESHORT', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    try {
      await writeAll(storage, torrent, stream);
      await truncate(path.join(out, 'content', 'a.bin'), 10);
      await assert.rejects(storage.readPiece(0), isStorageError('ESHORT'));
    } finally {
      await storage.close();
    }
  });

  it('bounds open handles with an LRU and still maps every byte right', async () => {
    const { out } = await freshDirs();
    const r = prng(11);
    const many: FileSpec[] = Array.from({ length: 40 }, (_v, i) => ({
      path: [`dir${i % 4}`, `f${i}`],
      data: randomBytes(r, 1 + Math.floor(r() * 300)),
    }));
    const t = makeTorrent('many', many, 256);
    const s = streamOf(many);
    const storage = await TorrentStorage.open(t, out, { maxOpenFiles: 3 });
    try {
      // Concurrent writes, to exercise eviction while handles are in use.
      await Promise.all(t.pieces.map((_h, i) => storage.writePiece(i, pieceOf(t, s, i))));
      assert.ok(storage.openHandles <= 3, `${storage.openHandles} handles open`);
      const found = await storage.checkExisting();
      assert.ok(found.every(Boolean));
      assert.ok(storage.openHandles <= 3);
    } finally {
      await storage.close();
    }
    assert.equal(storage.openHandles, 0);
    for (const f of many) assert.deepEqual(await readFile(path.join(out, 'many', ...f.path)), f.data);
  });

  it('after close, operations fail with ECLOSED', async () => {
    const { out } = await freshDirs();
    const storage = await TorrentStorage.open(torrent, out);
    await storage.writePiece(0, pieceOf(torrent, stream, 0));
    await storage.close();
    await assert.rejects(storage.readPiece(0), isStorageError('ECLOSED'));
    await assert.rejects(storage.writePiece(0, pieceOf(torrent, stream, 0)), isStorageError('ECLOSED'));
    await storage.close(); // idempotent
  });

  it('verifyPiece compares SHA-1', () => {
    assert.equal(TorrentStorage.verifyPiece(torrent, 0, pieceOf(torrent, stream, 0)), true);
    assert.equal(TorrentStorage.verifyPiece(torrent, 1, pieceOf(torrent, stream, 0)), false);
    assert.equal(TorrentStorage.verifyPiece(torrent, 999, pieceOf(torrent, stream, 0)), false);
  });
});

describe('TorrentStorage path safety', () => {
  const small = makeTorrent('content', [
    { path: ['sub', 'x.bin'], data: Buffer.from('hello') },
    { path: ['y.bin'], data: Buffer.from('world') },
  ], 4);

  it('refuses a symlinked folder in OUT that leads outside, and writes nothing there', async () => {
    const { out, outside } = await freshDirs();
    await mkdir(path.join(out, 'content'));
    await symlink(outside, path.join(out, 'content', 'sub'));
    await assert.rejects(TorrentStorage.open(small, out), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, 'ESYMLINK');
      assert.equal(e.path, path.join(out, 'content', 'sub'));
      return true;
    });
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a symlinked top folder and a symlinked file leading outside', async () => {
    const { out, outside } = await freshDirs();
    await symlink(outside, path.join(out, 'content'));
    await assert.rejects(TorrentStorage.open(small, out), isStorageError('ESYMLINK'));
    assert.deepEqual(await readdir(outside), []);

    const second = await freshDirs();
    await writeFile(path.join(second.outside, 'victim'), 'keep');
    await mkdir(path.join(second.out, 'content'));
    await symlink(path.join(second.outside, 'victim'), path.join(second.out, 'content', 'y.bin'));
    await assert.rejects(TorrentStorage.open(small, second.out), isStorageError('ESYMLINK'));
    assert.equal(await readFile(path.join(second.outside, 'victim'), 'utf8'), 'keep');
  });

  it('refuses a dangling symlink (creating through it could land anywhere)', async () => {
    const { out, outside } = await freshDirs();
    await mkdir(path.join(out, 'content'));
    await symlink(path.join(outside, 'new-file'), path.join(out, 'content', 'y.bin'));
    await assert.rejects(TorrentStorage.open(small, out), isStorageError('ESYMLINK'));
    assert.deepEqual(await readdir(outside), []);
  });

  it('follows a symlink whose target stays inside OUT', async () => {
    const { out } = await freshDirs();
    await mkdir(path.join(out, 'content'));
    await mkdir(path.join(out, 'elsewhere'));
    await symlink(path.join(out, 'elsewhere'), path.join(out, 'content', 'sub'));
    const storage = await TorrentStorage.open(small, out);
    try {
      await writeAll(storage, small, Buffer.from('helloworld'));
    } finally {
      await storage.close();
    }
    assert.equal(await readFile(path.join(out, 'elsewhere', 'x.bin'), 'utf8'), 'hello');
    assert.ok((await lstat(path.join(out, 'content', 'sub'))).isSymbolicLink());
  });

  it('refuses unsafe path components even if metainfo let them through', async () => {
    for (const bad of [['..', 'x'], ['a', '..', '..', 'x'], ['.'], [''], ['a/b'], ['a\\b'], ['nul\0'], ['/etc/passwd']]) {
      const { out, outside } = await freshDirs();
      const t = makeTorrent('content', [{ path: bad, data: Buffer.from('x') }], 4);
      await assert.rejects(TorrentStorage.open(t, out), isStorageError('EBADPATH'), JSON.stringify(bad));
      assert.deepEqual(await readdir(outside), []);
    }
    const { out } = await freshDirs();
    const badName = makeTorrent('..', [{ path: ['..'], data: Buffer.from('x') }], 4, false);
    await assert.rejects(TorrentStorage.open(badName, out), isStorageError('EBADPATH'));
  });

  it('refuses two files mapping to one path, and a folder where a file belongs', async () => {
    const { out } = await freshDirs();
    const dup = makeTorrent('content', [
      { path: ['a'], data: Buffer.from('1') },
      { path: ['a'], data: Buffer.from('2') },
    ], 4);
    await assert.rejects(TorrentStorage.open(dup, out), isStorageError('EDUPLICATE'));
    const second = await freshDirs();
    await mkdir(path.join(second.out, 'content', 'y.bin'), { recursive: true });
    await assert.rejects(TorrentStorage.open(small, second.out), isStorageError('ENOTFILE'));
  });
});

it('checkPlan: two lanes on the main thread up to two cores; beyond, one per core plus one on the pool, bounded', () => {
  const MiB = 1024 * 1024;
  assert.deepEqual(checkPlan(256 * 1024, 1, 4), { lanes: 2, offThread: false });
  assert.deepEqual(checkPlan(256 * 1024, 2, 4), { lanes: 2, offThread: false });
  assert.deepEqual(checkPlan(256 * 1024, 3, 4), { lanes: 4, offThread: true });
  assert.deepEqual(checkPlan(256 * 1024, 16, 4), { lanes: 4, offThread: true }, 'no more than the thread pool has threads');
  assert.deepEqual(checkPlan(256 * 1024, 16, 8), { lanes: 8, offThread: true });
  assert.deepEqual(checkPlan(16 * MiB, 16, 8), { lanes: 2, offThread: true }, '32 MiB of 16 MiB pieces');
  assert.deepEqual(checkPlan(64 * MiB, 8, 4), { lanes: 2, offThread: true }, 'two at least, whatever the piece size');
});
