import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { decode, isBytes, isDict, isList, type BDict, type BValue } from '../../src/bencode/index.js';
import { parsePieceLength, registerCreate, trackerTiers } from '../../src/cli/create.js';
import { CliError } from '../../src/cli/errors.js';
import {
  CreateError,
  createTorrent,
  defaultPieceLength,
  MAX_PIECE_LENGTH,
  MIN_PIECE_LENGTH,
} from '../../src/metainfo/create.js';
import { prng, randomBytes } from '../helpers/random.js';

let tmp: string;
let counter = 0;
const fresh = async (): Promise<string> => {
  const dir = path.join(tmp, `c${counter++}`);
  await mkdir(dir);
  return dir;
};

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pytor-create-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const rand = prng(2024);
const KiB = 1024;

/** Writes `files` (relative path -> bytes) under `root`. */
async function plant(root: string, files: Record<string, Buffer>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), data);
  }
}

function dict(v: BValue | undefined): BDict {
  assert.ok(isDict(v), 'expected a dict');
  return v;
}

/** SHA-1 of the raw info span of a .torrent file. */
function infoHashOf(torrentBytes: Buffer): string {
  const info = dict(dict(decode(torrentBytes)).get('info'));
  return createHash('sha1').update(torrentBytes.subarray(info.span.start, info.span.end)).digest('hex');
}

function mktorrentInfoHash(input: string, pieceLength: number, extra: string[] = []): string {
  const out = path.join(path.dirname(input), `${path.basename(input)}.mk-${counter++}.torrent`);
  const log2 = Math.log2(pieceLength);
  execFileSync('mktorrent', ['-l', String(log2), '-n', path.basename(input), '-o', out, ...extra, input], { stdio: 'pipe' });
  return infoHashOf(execFileSync('cat', [out]));
}

/**
 * The python3 that has libtorrent: PYTOR_PYTHON, else `python3` on PATH, else Debian's system
 * python3 (where the python3-libtorrent package installs when PATH holds another python).
 */
function libtorrentPython(): string {
  const candidates = [process.env.PYTOR_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import libtorrent'], { stdio: 'ignore' });
    if (r.status === 0) return c;
  }
  throw new Error(`no python3 with libtorrent among ${candidates.join(', ')} (install python3-libtorrent)`);
}

/**
 * libtorrent's v1-only info-hash. lt.add_files lists a folder in readdir order (unsorted) when
 * no canonical flag is set, and canonical_files would add BEP 47 pad files; so the files it
 * found are re-added in the order both pytor and mktorrent use (byte order of the path).
 */
const LT_SCRIPT = `
import sys, hashlib, libtorrent as lt
target, piece_len = sys.argv[1], int(sys.argv[2])
found = lt.file_storage()
lt.add_files(found, target)
fs = lt.file_storage()
entries = sorted((found.file_path(i).encode(), found.file_size(i)) for i in range(found.num_files()))
for p, size in entries:
    fs.add_file(p.decode(), size)
flags = lt.create_torrent.v1_only | lt.create_torrent.no_attributes
ct = lt.create_torrent(fs, piece_len, flags=flags)
import os
lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(target)))
info = ct.generate()[b'info']
files = info.get(b'files', [])
assert not any(b'attr' in f or f[b'path'][0] == b'.pad' for f in files), 'pad files or attributes'
print(hashlib.sha1(lt.bencode(info)).hexdigest())
`;

function libtorrentInfoHash(input: string, pieceLength: number): string {
  const out = execFileSync(libtorrentPython(), ['-c', LT_SCRIPT, input, String(pieceLength)], { encoding: 'utf8' });
  return out.trim();
}

describe('createTorrent agrees with mktorrent and libtorrent', () => {
  it('a single file', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'song.flac');
    await writeFile(file, randomBytes(rand, 200 * KiB + 123));
    const ours = await createTorrent(file, { pieceLength: 32 * KiB, noDate: true });
    assert.equal(ours.multiFile, false);
    assert.equal(ours.pieceCount, 7);
    assert.equal(ours.infoHashHex, infoHashOf(ours.torrent));
    assert.equal(ours.infoHashHex, mktorrentInfoHash(file, 32 * KiB));
    assert.equal(ours.infoHashHex, libtorrentInfoHash(file, 32 * KiB));
  });

  it('a nested folder whose names sort differently by component and by whole path', async () => {
    const dir = await fresh();
    const root = path.join(dir, 'album');
    // 'a/x' vs 'a b', 'a-b', 'a.txt': ' ', '-', '.' sort below '/', so mktorrent's strcmp order
    // puts a/x after them; hidden files are included; upper case sorts before lower.
    await plant(root, {
      'a/x': randomBytes(rand, 40 * KiB + 1),
      'a b': randomBytes(rand, 3 * KiB),
      'a-b': randomBytes(rand, 70 * KiB),
      'a.txt': randomBytes(rand, 5),
      '.hidden': randomBytes(rand, 9 * KiB),
      'B/y': randomBytes(rand, 33 * KiB),
      'deep/er/still/f.bin': randomBytes(rand, 100 * KiB + 7),
      'z': randomBytes(rand, 1),
      'ünï/cødé.txt': randomBytes(rand, 2 * KiB),
    });
    const ours = await createTorrent(root, { pieceLength: 64 * KiB, noDate: true });
    assert.equal(ours.multiFile, true);
    assert.equal(ours.name, 'album');
    assert.deepEqual(
      ours.files.map((f) => f.path.join('/')),
      ['.hidden', 'B/y', 'a b', 'a-b', 'a.txt', 'a/x', 'deep/er/still/f.bin', 'z', 'ünï/cødé.txt'],
    );
    assert.equal(ours.infoHashHex, mktorrentInfoHash(root, 64 * KiB));
    assert.equal(ours.infoHashHex, libtorrentInfoHash(root, 64 * KiB));
  });

  it('a folder with a zero-length file', async () => {
    const dir = await fresh();
    const root = path.join(dir, 'with-empty');
    await plant(root, {
      'first.bin': randomBytes(rand, 50 * KiB),
      'empty.txt': Buffer.alloc(0),
      'sub/empty2': Buffer.alloc(0),
      'sub/last.bin': randomBytes(rand, 20 * KiB),
    });
    const ours = await createTorrent(root, { pieceLength: 32 * KiB, noDate: true });
    assert.ok(ours.files.some((f) => f.length === 0));
    assert.equal(ours.infoHashHex, mktorrentInfoHash(root, 32 * KiB));
    assert.equal(ours.infoHashHex, libtorrentInfoHash(root, 32 * KiB));
  });

  it('the private flag, as mktorrent -p sets it', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'secret.bin');
    await writeFile(file, randomBytes(rand, 90 * KiB));
    const ours = await createTorrent(file, { pieceLength: 32 * KiB, private: true });
    assert.equal(ours.infoHashHex, mktorrentInfoHash(file, 32 * KiB, ['-p']));
    const open = await createTorrent(file, { pieceLength: 32 * KiB });
    assert.notEqual(open.infoHashHex, ours.infoHashHex);
  });

  it('a symlink inside the folder is followed (as mktorrent does)', async () => {
    const dir = await fresh();
    const root = path.join(dir, 'linked');
    await plant(root, { 'real/data.bin': randomBytes(rand, 40 * KiB) });
    await symlink(path.join(root, 'real', 'data.bin'), path.join(root, 'alias.bin'));
    await symlink('real', path.join(root, 'dirlink'));
    const ours = await createTorrent(root, { pieceLength: 32 * KiB });
    assert.deepEqual(ours.files.map((f) => f.path.join('/')), ['alias.bin', 'dirlink/data.bin', 'real/data.bin']);
    assert.equal(ours.infoHashHex, mktorrentInfoHash(root, 32 * KiB));
  });
});

describe('createTorrent output', () => {
  it('writes the outer fields, a canonical info dict and correct piece hashes', async () => {
    const dir = await fresh();
    const root = path.join(dir, 'pack');
    const a = randomBytes(rand, 20 * KiB);
    const b = randomBytes(rand, 30 * KiB);
    await plant(root, { 'a.bin': a, 'b.bin': b });
    const progress: [number, number][] = [];
    const made = await createTorrent(root, {
      trackers: [['http://t1.example/announce', 'udp://t2.example:6969'], ['http://t3.example/announce']],
      pieceLength: 16 * KiB,
      comment: 'hello',
      webSeeds: ['http://seed.example/files/'],
      createdBy: 'tester',
      now: () => new Date(1_700_000_000_500),
      onProgress: (done, total) => progress.push([done, total]),
    });
    const top = dict(decode(made.torrent));
    assert.ok(top.keysSorted);
    assert.equal(String(top.get('announce')), 'http://t1.example/announce');
    const tiers = top.get('announce-list');
    assert.ok(isList(tiers));
    assert.deepEqual(tiers.map((t) => (t as Buffer[]).map(String)), [
      ['http://t1.example/announce', 'udp://t2.example:6969'],
      ['http://t3.example/announce'],
    ]);
    assert.equal(String(top.get('comment')), 'hello');
    assert.equal(String(top.get('created by')), 'tester');
    assert.equal(top.get('creation date'), 1_700_000_000);
    const urlList = top.get('url-list');
    assert.ok(isList(urlList));
    assert.deepEqual(urlList.map(String), ['http://seed.example/files/']);
    const info = dict(top.get('info'));
    assert.ok(info.keysSorted);
    assert.equal(String(info.get('name')), 'pack');
    assert.equal(info.get('piece length'), 16 * KiB);
    assert.equal(info.has('private'), false);
    const pieces = info.get('pieces');
    assert.ok(isBytes(pieces));
    const all = Buffer.concat([a, b]);
    assert.equal(made.pieceCount, 4);
    for (let i = 0; i < 4; i++) {
      const expected = createHash('sha1').update(all.subarray(i * 16 * KiB, (i + 1) * 16 * KiB)).digest();
      assert.deepEqual(pieces.subarray(i * 20, i * 20 + 20), expected, `piece ${i}`);
    }
    assert.deepEqual(progress.at(-1), [50 * KiB, 50 * KiB]);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]![0] >= progress[i - 1]![0]);
  });

  it('one tracker: announce only; --no-date: no creation date; same input gives same bytes', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'one.bin');
    await writeFile(file, randomBytes(rand, 1000));
    const opts = { trackers: [['http://t.example/a']], noDate: true } as const;
    const first = await createTorrent(file, opts);
    const second = await createTorrent(file, opts);
    assert.deepEqual(first.torrent, second.torrent);
    const top = dict(decode(first.torrent));
    assert.equal(top.has('announce-list'), false);
    assert.equal(top.has('creation date'), false);
    assert.equal(first.pieceLength, MIN_PIECE_LENGTH);
    assert.equal(first.pieceCount, 1);
  });

  it('chooses a power-of-two piece length giving 1000-2000 pieces, clamped to 16 KiB..16 MiB', () => {
    assert.equal(defaultPieceLength(1), MIN_PIECE_LENGTH);
    assert.equal(defaultPieceLength(2000 * MIN_PIECE_LENGTH), MIN_PIECE_LENGTH);
    assert.equal(defaultPieceLength(2000 * MIN_PIECE_LENGTH + 1), 2 * MIN_PIECE_LENGTH);
    assert.equal(defaultPieceLength(2 ** 50), MAX_PIECE_LENGTH);
    for (const size of [40e6, 700e6, 1.5e9, 4.7e9, 20e9]) {
      const pl = defaultPieceLength(size);
      const count = Math.ceil(size / pl);
      assert.ok(count >= 1000 && count <= 2000, `${size}: ${pl} gives ${count} pieces`);
      assert.equal(pl & (pl - 1), 0);
    }
  });
});

describe('createTorrent refusals', () => {
  const failsWith = (code: string) => (e: unknown) => e instanceof CreateError && e.code === code;

  it('refuses a symlink leading outside the folder, naming it', async () => {
    const dir = await fresh();
    const root = path.join(dir, 'share');
    await plant(root, { 'ok.bin': Buffer.from('fine') });
    await writeFile(path.join(dir, 'private.key'), 'secret');
    await symlink(path.join(dir, 'private.key'), path.join(root, 'leak'));
    await assert.rejects(createTorrent(root), (e: unknown) => {
      assert.ok(e instanceof CreateError);
      assert.equal(e.code, 'ESYMLINK');
      assert.equal(e.path, path.join(root, 'leak'));
      return true;
    });
  });

  it('refuses a dangling symlink, a folder loop, a fifo, an empty folder, a bad piece length and a bad URL', async () => {
    const dangling = path.join(await fresh(), 'd');
    await plant(dangling, { 'x': Buffer.from('x') });
    await symlink('nowhere', path.join(dangling, 'ghost'));
    await assert.rejects(createTorrent(dangling), failsWith('ESYMLINK'));

    const loop = path.join(await fresh(), 'l');
    await plant(loop, { 'sub/x': Buffer.from('x') });
    await symlink('..', path.join(loop, 'sub', 'up'));
    await assert.rejects(createTorrent(loop), failsWith('ELOOP'));

    const withFifo = path.join(await fresh(), 'f');
    await plant(withFifo, { 'x': Buffer.from('x') });
    execFileSync('mkfifo', [path.join(withFifo, 'pipe')]);
    await assert.rejects(createTorrent(withFifo), failsWith('EUNSUPPORTED'));

    const empty = path.join(await fresh(), 'e');
    await mkdir(path.join(empty, 'only-folders'), { recursive: true });
    await assert.rejects(createTorrent(empty), failsWith('EEMPTY'));
    await plant(empty, { 'zero': Buffer.alloc(0) });
    await assert.rejects(createTorrent(empty), failsWith('EEMPTY'));

    const file = path.join(await fresh(), 'x.bin');
    await writeFile(file, 'x');
    for (const pieceLength of [1000, 8 * KiB, 32 * MAX_PIECE_LENGTH, 48 * KiB]) {
      await assert.rejects(createTorrent(file, { pieceLength }), failsWith('EOPTION'));
    }
    await assert.rejects(createTorrent(file, { trackers: [['not a url']] }), failsWith('EOPTION'));
    await assert.rejects(createTorrent(path.join(tmp, 'missing')), failsWith('ENOENT'));
  });
});

/** Runs `create ARGS` through commander in-process, capturing stdout and stderr. */
async function runCreateCli(args: string[]): Promise<{ stdout: string; stderr: string; error: unknown }> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerCreate(program);
  let stdout = '';
  let stderr = '';
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  // Plain progress lines, as for any non-terminal, even when the test itself runs in one.
  const wasTTY = process.stderr.isTTY;
  process.stderr.isTTY = false;
  let error: unknown;
  try {
    await program.parseAsync(['create', ...args], { from: 'user' });
  } catch (err) {
    error = err;
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.stderr.isTTY = wasTTY;
  }
  return { stdout, stderr, error };
}

describe('pytor create (command)', () => {
  it('writes the torrent, prints JSON, and refuses to overwrite without --force', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'clip.mp4');
    await writeFile(file, randomBytes(rand, 100 * KiB));
    const out = path.join(dir, 'clip.torrent');
    const first = await runCreateCli([file, '-o', out, '--piece-length', '32K', '--json', '--no-date', '-t', 'http://a.example/ann,http://b.example/ann', '-t', 'udp://c.example:1']);
    assert.equal(first.error, undefined);
    const json = JSON.parse(first.stdout) as Record<string, unknown>;
    const bytes = await readFile(out);
    assert.deepEqual(json, {
      infoHash: infoHashOf(bytes),
      name: 'clip.mp4',
      length: 100 * KiB,
      pieceLength: 32 * KiB,
      pieceCount: 4,
      path: out,
    });
    assert.equal(json.infoHash, mktorrentInfoHash(file, 32 * KiB));
    const top = dict(decode(bytes));
    assert.equal(top.has('creation date'), false);
    assert.deepEqual((top.get('announce-list') as Buffer[][]).map((t) => t.map(String)), [
      ['http://a.example/ann', 'http://b.example/ann'],
      ['udp://c.example:1'],
    ]);

    const again = await runCreateCli([file, '-o', out]);
    assert.ok(again.error instanceof CliError);
    assert.match(again.error.message, /exists; use --force/);
    assert.deepEqual(await readFile(out), bytes);

    const forced = await runCreateCli([file, '-o', out, '--force', '--private', '--comment', 'c']);
    assert.equal(forced.error, undefined);
    assert.match(forced.stdout, /info-hash: [0-9a-f]{40}/);
    assert.match(forced.stderr, /hashing: 100%/); // not a terminal: plain progress lines
    assert.notDeepEqual(await readFile(out), bytes);
  });

  it('rejects a bad piece length as a usage error', async () => {
    const dir = await fresh();
    const file = path.join(dir, 'x.bin');
    await writeFile(file, 'x');
    const r = await runCreateCli([file, '-o', path.join(dir, 'x.torrent'), '--piece-length', '300K']);
    assert.ok(r.error instanceof Error);
    assert.equal((r.error as { code?: string }).code, 'commander.invalidArgument');
  });

  it('parses piece lengths and tracker tiers', () => {
    assert.equal(parsePieceLength('256K'), 256 * KiB);
    assert.equal(parsePieceLength('1M'), 1024 * KiB);
    assert.equal(parsePieceLength('16384'), 16 * KiB);
    assert.equal(parsePieceLength('4MiB'), 4 * 1024 * KiB);
    for (const bad of ['8K', '32M', '100K', 'abc', '', '1.5M', '-16K']) assert.throws(() => parsePieceLength(bad), bad);
    assert.deepEqual(trackerTiers(['a,b', 'c', ' d , ,e ']), [['a', 'b'], ['c'], ['d', 'e']]);
  });
});
