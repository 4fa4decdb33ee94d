import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BencodeError, decode, encode, isDict, type Encodable } from '../../src/bencode/index.js';
import {
  checkPathComponent,
  MetainfoError,
  parseTorrent,
  pieceSize,
  torrentFromInfo,
  trackerTiers,
  UnsupportedTorrentError,
  MAX_PIECE_LENGTH,
} from '../../src/metainfo/index.js';
import { runPytor } from '../helpers/cli.js';
import { prng, randomBytes } from '../helpers/random.js';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

type Info = { [key: string]: Encodable | undefined };

/** An info dict with the right number of (fake) piece hashes for its length. */
function info(over: Info & { lengths?: number[] } = {}): Info {
  const { lengths, ...rest } = over;
  const pieceLength = (rest['piece length'] as number | undefined) ?? 16384;
  const total = lengths ? lengths.reduce((a, b) => a + b, 0) : (rest.length ?? 40000);
  const count = typeof total === 'number' && total > 0 ? Math.ceil(total / pieceLength) : 1;
  const base: Info = {
    name: 'x',
    'piece length': pieceLength,
    pieces: Buffer.alloc(20 * count, 0xab),
  };
  if (lengths) base.files = lengths.map((length, i) => ({ length, path: [`f${i}`] }));
  else base.length = total;
  return { ...base, ...rest };
}

function torrent(infoDict: Info, outer: Info = {}): Buffer {
  return encode({ announce: 'http://tracker.example/announce', ...outer, info: infoDict });
}

/** Asserts that parsing throws a MetainfoError naming `field`. */
function refuses(bytes: Uint8Array, field: string, problem?: RegExp): MetainfoError {
  let caught: unknown;
  try {
    parseTorrent(bytes);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MetainfoError, `expected a MetainfoError for ${field}, got ${String(caught)}`);
  assert.equal(caught.field, field);
  assert.match(caught.message, /^invalid torrent: /);
  if (problem) assert.match(caught.message, problem);
  return caught;
}

describe('parseTorrent: valid torrents', () => {
  test('single file: fields, info-hash of the info bytes, pieces', () => {
    const inf = info({ name: 'movie.mkv', length: 40000 });
    const bytes = torrent(inf, { comment: 'hello', 'created by': 'hand', 'creation date': 1700000000 });
    const t = parseTorrent(bytes);
    assert.equal(t.infoHashHex, sha1(encode(inf)));
    assert.deepEqual(t.infoHash, createHash('sha1').update(encode(inf)).digest());
    assert.deepEqual(t.infoBytes, encode(inf));
    assert.equal(t.name, 'movie.mkv');
    assert.equal(t.length, 40000);
    assert.equal(t.pieceLength, 16384);
    assert.equal(t.pieces.length, 3);
    assert.ok(t.pieces.every((p) => p.length === 20));
    assert.equal(pieceSize(t, 0), 16384);
    assert.equal(pieceSize(t, 2), 40000 - 2 * 16384);
    assert.throws(() => pieceSize(t, 3), RangeError);
    assert.equal(t.multiFile, false);
    assert.deepEqual(t.files, [{ path: ['movie.mkv'], originalPath: ['movie.mkv'], length: 40000, offset: 0, padding: false }]);
    assert.equal(t.originalName, 'movie.mkv');
    assert.deepEqual(t.symlinks, []);
    assert.deepEqual(t.warnings, []);
    assert.equal(t.announce, 'http://tracker.example/announce');
    assert.deepEqual(t.announceList, []);
    assert.deepEqual(trackerTiers(t), [['http://tracker.example/announce']]);
    assert.equal(t.comment, 'hello');
    assert.equal(t.createdBy, 'hand');
    assert.equal(t.creationDate, 1700000000);
    assert.equal(t.private, false);
  });

  test('a length that is an exact multiple of the piece length', () => {
    const t = parseTorrent(torrent(info({ length: 32768 })));
    assert.equal(t.pieces.length, 2);
    assert.equal(pieceSize(t, 1), 16384);
    refuses(torrent({ ...info({ length: 32768 }), pieces: Buffer.alloc(60) }), 'info.pieces', /holds 3 hashes but 32768 bytes in pieces of 16384 need 2/);
    refuses(torrent({ ...info({ length: 32769 }), pieces: Buffer.alloc(40) }), 'info.pieces', /need 3/);
  });

  test('multi-file: offsets, nested paths, zero-length files, BEP 47 padding', () => {
    const inf = info({
      name: 'album',
      lengths: [100, 0, 16284, 5],
      files: [
        { length: 100, path: ['cd1', 'a.flac'] },
        { length: 0, path: ['empty.txt'] },
        { length: 16284, path: ['.pad', '16284'], attr: 'p' },
        { length: 5, path: ['cd2', 'deep', 'b.flac'] },
      ],
    });
    const t = parseTorrent(torrent(inf));
    assert.equal(t.multiFile, true);
    assert.equal(t.length, 16389);
    assert.deepEqual(
      t.files.map((f) => [f.path.join('/'), f.length, f.offset, f.padding]),
      [
        ['cd1/a.flac', 100, 0, false],
        ['empty.txt', 0, 100, false],
        ['.pad/16284', 16284, 100, true],
        ['cd2/deep/b.flac', 5, 16384, false],
      ],
    );
  });

  test('two padding files may share a path', () => {
    const inf = info({
      lengths: [10, 16374, 10, 16374, 1],
      files: [
        { length: 10, path: ['a'] },
        { length: 16374, path: ['.pad', '16374'], attr: 'p' },
        { length: 10, path: ['b'] },
        { length: 16374, path: ['.pad', '16374'], attr: 'p' },
        { length: 1, path: ['c'] },
      ],
    });
    assert.equal(parseTorrent(torrent(inf)).files.length, 5);
  });

  test('out-of-order info keys: the info-hash is the SHA-1 of the raw bytes, not of a re-encoding', () => {
    const pieces = Buffer.alloc(40, 7);
    // Keys deliberately unsorted: "pieces" before "name", "length" last.
    const raw = Buffer.concat([
      Buffer.from('d8:announce9:http://t/4:infod6:pieces40:'),
      pieces,
      Buffer.from('4:name3:abc12:piece lengthi16384e6:lengthi20000eee'),
    ]);
    const root = decode(raw);
    assert.ok(isDict(root));
    const infoDict = root.get('info');
    assert.ok(isDict(infoDict));
    assert.equal(infoDict.keysSorted, false);
    const infoRaw = raw.subarray(raw.indexOf('4:infod') + 6, raw.length - 1);
    const t = parseTorrent(raw);
    assert.equal(t.infoHashHex, sha1(infoRaw));
    assert.notEqual(t.infoHashHex, sha1(encode(infoDict)));
    assert.deepEqual(t.infoBytes, infoRaw);
    // torrentFromInfo (BEP 9) hashes the same bytes.
    assert.equal(torrentFromInfo(infoRaw).infoHashHex, t.infoHashHex);
  });

  test('a parse works on a Uint8Array view inside a larger buffer', () => {
    const bytes = torrent(info());
    const backing = Buffer.concat([Buffer.from('junk'), bytes, Buffer.from('junk')]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, bytes.length);
    assert.equal(parseTorrent(view).infoHashHex, parseTorrent(bytes).infoHashHex);
  });

  test('name.utf-8 and path.utf-8 are preferred', () => {
    const inf = info({
      name: 'bad',
      'name.utf-8': 'Gr\u00fc\u00dfe',
      lengths: [3],
      files: [{ length: 3, path: ['x'], 'path.utf-8': ['\u65e5\u672c', 'b.txt'] }],
    });
    const t = parseTorrent(torrent(inf));
    assert.equal(t.name, 'Grüße');
    assert.deepEqual(t.files[0]?.path, ['日本', 'b.txt']);
  });

  test('trackers (BEP 12), web seeds (BEP 19), private (BEP 27)', () => {
    const bytes = torrent(info({ private: 1 }), {
      'announce-list': [['http://a/1', 'http://a/2'], [], ['udp://b/3'], 'junk', [5]],
      'url-list': ['http://seed/1', 7, ''],
    });
    const t = parseTorrent(bytes);
    assert.deepEqual(t.announceList, [['http://a/1', 'http://a/2'], ['udp://b/3']]);
    assert.deepEqual(trackerTiers(t), [['http://a/1', 'http://a/2'], ['udp://b/3']]);
    assert.deepEqual(t.urlList, ['http://seed/1']);
    assert.equal(t.private, true);
    assert.deepEqual(parseTorrent(torrent(info(), { 'url-list': 'http://one/' })).urlList, ['http://one/']);
    assert.equal(parseTorrent(torrent(info({ private: 0 }))).private, false);
  });

  test('malformed informational fields outside the info dict are ignored, not fatal', () => {
    const t = parseTorrent(
      torrent(info(), { comment: 5, 'created by': ['x'], 'creation date': 'yesterday', announce: 7, 'announce-list': 'x' }),
    );
    assert.equal(t.comment, undefined);
    assert.equal(t.createdBy, undefined);
    assert.equal(t.creationDate, undefined);
    assert.equal(t.announce, undefined);
    assert.deepEqual(t.announceList, []);
    assert.equal(parseTorrent(torrent(info(), { 'comment.utf-8': 'ünï' , comment: 'x' })).comment, 'ünï');
  });

  test('torrentFromInfo takes trackers from elsewhere', () => {
    const inf = encode(info());
    const t = torrentFromInfo(inf, ['http://a/', 'http://b/']);
    assert.equal(t.infoHashHex, sha1(inf));
    assert.equal(t.announce, 'http://a/');
    assert.deepEqual(t.announceList, [['http://a/'], ['http://b/']]);
    assert.equal(torrentFromInfo(inf).announce, undefined);
    assert.throws(() => torrentFromInfo(encode([1])), MetainfoError);
    assert.throws(() => torrentFromInfo(Buffer.from('d4:name')), BencodeError);
  });

  test('a hybrid v1+v2 info dict is read by its v1 part', () => {
    const inf = info({ 'meta version': 2, 'file tree': { x: { '': { length: 40000, 'pieces root': Buffer.alloc(32) } } } });
    const t = parseTorrent(torrent(inf, { 'piece layers': {} }));
    assert.equal(t.infoHashHex, sha1(encode(inf)));
    assert.equal(t.length, 40000);
  });

  test('a v2-only info dict is refused as unsupported', () => {
    const inf: Info = {
      name: 'x',
      'piece length': 16384,
      'meta version': 2,
      'file tree': { x: { '': { length: 40000, 'pieces root': Buffer.alloc(32) } } },
    };
    assert.throws(
      () => parseTorrent(torrent(inf)),
      (err: unknown) => err instanceof UnsupportedTorrentError && err.message === 'v2-only torrents are not supported yet',
    );
  });
});

describe('parseTorrent: invalid torrents name the field', () => {
  test('top level and info', () => {
    refuses(encode([1, 2]), '', /top level is not a dictionary/);
    refuses(encode({ announce: 'x' }), 'info', /is missing/);
    refuses(encode({ info: 'x' }), 'info', /is not a dictionary/);
    refuses(encode({ info: [] }), 'info', /is not a dictionary/);
  });
  test('bencode errors come through as BencodeError', () => {
    assert.throws(() => parseTorrent(Buffer.from('d4:info')), BencodeError);
    assert.throws(() => parseTorrent(Buffer.alloc(0)), BencodeError);
  });
  test('name', () => {
    refuses(torrent(info({ name: undefined })), 'info.name', /is missing/);
    refuses(torrent(info({ name: 5 })), 'info.name', /not a byte string/);
    // A single file's name is its file name: with nothing safe left, there is no name to use.
    refuses(torrent(info({ name: '..' })), 'info.name', /"\.\." leaves no file name/);
    refuses(torrent(info({ name: '' })), 'info.name', /leaves no file name/);
  });
  test('piece length', () => {
    refuses(torrent(info({ 'piece length': undefined })), 'info.piece length', /missing/);
    refuses(torrent({ ...info(), 'piece length': 0 }), 'info.piece length', /0 is not positive/);
    refuses(torrent({ ...info(), 'piece length': -16384 }), 'info.piece length', /not positive/);
    refuses(torrent({ ...info(), 'piece length': MAX_PIECE_LENGTH * 2 }), 'info.piece length', /larger than/);
    refuses(torrent({ ...info(), 'piece length': 2n ** 64n }), 'info.piece length', /out of range/);
    refuses(torrent({ ...info(), 'piece length': '16384' }), 'info.piece length', /not an integer/);
  });
  test('pieces', () => {
    refuses(torrent({ ...info(), pieces: Buffer.alloc(41) }), 'info.pieces', /length 41 is not a multiple of 20/);
    refuses(torrent({ ...info(), pieces: undefined }), 'info.pieces', /missing/);
    refuses(torrent({ ...info(), pieces: [Buffer.alloc(20)] }), 'info.pieces', /not a byte string/);
    refuses(torrent({ ...info({ length: 40000 }), pieces: Buffer.alloc(20) }), 'info.pieces', /holds 1 hashes/);
    refuses(torrent({ ...info({ length: 40000 }), pieces: Buffer.alloc(80) }), 'info.pieces', /holds 4 hashes/);
  });
  test('lengths', () => {
    refuses(torrent(info({ length: -1, pieces: Buffer.alloc(0) })), 'info.length', /-1 is negative/);
    refuses(torrent(info({ length: 2n ** 63n })), 'info.length', /out of range/);
    refuses(torrent(info({ length: 'big' })), 'info.length', /not an integer/);
    refuses(torrent({ ...info(), length: undefined }), 'info', /neither "length" nor "files"/);
    // Both: the file list wins, as in libtorrent and Transmission.
    const both = parseTorrent(torrent({ ...info(), files: [{ length: 40000, path: ['a'] }] }));
    assert.equal(both.multiFile, true);
    assert.deepEqual(both.files.map((f) => f.path), [['a']]);
    assert.match(both.warnings?.join() ?? '', /both "length" and "files"; using "files"/);
    refuses(torrent({ ...info(), length: 0, pieces: Buffer.alloc(0) }), 'info', /total length 0/);
    const huge = Number.MAX_SAFE_INTEGER;
    refuses(torrent(info({ lengths: [1], files: [{ length: huge, path: ['a'] }, { length: huge, path: ['b'] }] })), 'info', /too large/);
  });
  test('files', () => {
    refuses(torrent(info({ lengths: [1], files: 'x' })), 'info.files', /not a list/);
    refuses(torrent(info({ lengths: [1], files: [] })), 'info.files', /is empty/);
    refuses(torrent(info({ lengths: [1], files: [5] })), 'info.files[0]', /not a dictionary/);
    refuses(torrent(info({ lengths: [1], files: [{ path: ['a'] }] })), 'info.files[0].length', /missing/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1, path: ['a'] }, { length: -1, path: ['b'] }] })), 'info.files[1].length', /negative/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1 }] })), 'info.files[0].path', /missing/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1, path: 'a' }] })), 'info.files[0].path', /not a list/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1, path: [] }] })), 'info.files[0].path', /is missing/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1, path: [5] }] })), 'info.files[0].path[0]', /not a byte string/);
    refuses(torrent(info({ lengths: [1], files: [{ length: 1, path: Array(65).fill('d') }] })), 'info.files[0].path', /deeper than 64/);
  });
  test('a symlink without a path', () => {
    const inf = info({ lengths: [1], files: [{ length: 1, path: ['a'] }, { length: 0, attr: 'l', 'symlink path': ['a'] }] });
    refuses(torrent(inf), 'info.files[1].path', /is missing/);
  });
});

describe('parseTorrent: unsafe names are made safe, never refused', () => {
  /** Multi-file torrent of 1-byte files at `paths`; returns the safe paths, joined. */
  const safe = (...paths: Encodable[][]) =>
    parseTorrent(torrent(info({ name: 'top', lengths: paths.map(() => 1), files: paths.map((path) => ({ length: 1, path })) }))).files.map((f) => f.path.join('/'));

  test('`..`, `.` and empty components are dropped; an absolute path becomes relative', () => {
    assert.deepEqual(safe(['..', 'etc', 'passwd'], ['a', '.', 'b'], ['', 'tmp', 'x'], ['a', '', 'c']), ['etc/passwd', 'a/b', 'tmp/x', 'a/c']);
    assert.deepEqual(safe(['..', ''], ['.']), ['_', '_.1']);
  });
  test('separators and control characters inside a component are replaced by _', () => {
    assert.deepEqual(safe(['/etc/passwd'], ['a\\b'], ['a\0b'], ['x\x1b[2J'], ['rtl\u202egpj.exe']), ['_etc_passwd', 'a_b', 'a_b.1', 'x_[2J', 'rtl_gpj.exe']);
  });
  test('a drive prefix loses its colon', () => {
    assert.deepEqual(safe(['C:', 'x'], ['d:evil']), ['C_/x', 'd_evil']);
  });
  test('a component over 255 bytes is cut on a character boundary, keeping its extension', () => {
    const [a, b] = safe(['x'.repeat(300) + '.mkv'], ['é'.repeat(200)]);
    assert.equal(a, 'x'.repeat(251) + '.mkv');
    assert.equal(b, 'é'.repeat(127)); // 254 bytes: a 128th é would make 256
  });
  test('duplicates, case-only twins and a file named like a folder get file.N.ext', () => {
    assert.deepEqual(safe(['a', 'b.txt'], ['a', 'b.txt'], ['a', 'B.TXT'], ['a', 'b.1.txt']), ['a/b.txt', 'a/b.1.txt', 'a/B.2.TXT', 'a/b.1.1.txt']);
    assert.deepEqual(safe(['a'], ['a', 'b']), ['a.1', 'a/b']);
    assert.deepEqual(safe(['a', 'b', 'c'], ['a', 'b']), ['a/b/c', 'a/b.1']);
    // Different invalid bytes that repair to the same text are duplicates too.
    assert.deepEqual(safe([Buffer.from([0xff])], [Buffer.from([0xfe])]), ['_', '_.1']);
  });
  test('the raw path is kept beside the safe one; the info-hash is of the raw bytes', () => {
    const inf = info({ name: 'top', lengths: [1], files: [{ length: 1, path: ['..', 'a\\b'] }] });
    const t = parseTorrent(torrent(inf));
    assert.deepEqual(t.files[0]?.path, ['a_b']);
    assert.deepEqual(t.files[0]?.originalPath, ['..', 'a\\b']);
    assert.equal(t.infoHashHex, sha1(encode(inf)));
    assert.match(t.warnings?.join('\n') ?? '', /1 file name was changed/);
  });
  test('the torrent name: replaced characters, or the info-hash when nothing is left', () => {
    const named = (name: Encodable | undefined) => parseTorrent(torrent(info({ name, lengths: [1] })));
    assert.equal(named('a/b').name, 'a_b');
    assert.equal(named('a/b').originalName, 'a/b');
    for (const name of ['..', '', undefined]) {
      const t = named(name);
      assert.equal(t.name, t.infoHashHex);
      assert.equal(t.originalName, name === undefined ? '' : name);
    }
    const single = parseTorrent(torrent(info({ name: 'a\\b.mkv' })));
    assert.equal(single.name, 'a_b.mkv');
    assert.deepEqual(single.files[0]?.path, ['a_b.mkv']);
    assert.deepEqual(single.files[0]?.originalPath, ['a\\b.mkv']);
  });
  test('invalid UTF-8 becomes _, unless name.utf-8 / path.utf-8 says better', () => {
    const t = parseTorrent(torrent(info({ name: Buffer.from([0x61, 0xff]), lengths: [1], files: [{ length: 1, path: [Buffer.from([0xc3, 0x28])] }] })));
    assert.equal(t.name, 'a_');
    assert.equal(t.originalName, 'a\ufffd');
    assert.deepEqual(t.files[0]?.path, ['_(']);
  });
  test('BEP 47 pad files: no path needed, never in the duplicate check', () => {
    const inf = info({
      name: 'p',
      lengths: [1, 16383, 1, 16383, 1],
      files: [
        { length: 1, path: ['a'] },
        { length: 16383, attr: 'p' },
        { length: 1, path: ['b'] },
        { length: 16383, attr: 'p', path: ['..', '..', 'x'] },
        { length: 1, path: ['_____padding_file_0'] },
      ],
    });
    const t = parseTorrent(torrent(inf));
    assert.deepEqual(t.files.map((f) => [f.path.join('/'), f.padding, f.offset]), [
      ['a', false, 0], ['.pad/16383', true, 1], ['b', false, 16384], ['x', true, 16385], ['_____padding_file_0', true, 32768],
    ]);
    assert.equal(t.length, 32769);
  });
  test('BEP 47 symlinks hold no payload and are listed apart', () => {
    const inf = info({
      name: 's',
      lengths: [5, 3],
      files: [
        { length: 5, path: ['a'] },
        { length: 999, attr: 'l', path: ['link'], 'symlink path': ['..', '..', 'etc', 'passwd'] },
        { length: 3, path: ['b'] },
        { length: 77, attr: 'l', path: ['no-target'] },
        { length: 78, attr: 'l', path: ['bad-target'], 'symlink path': 'not a list' },
      ],
    });
    const t = parseTorrent(torrent(inf));
    assert.equal(t.length, 8);
    // A symlink without a target is an empty file, as libtorrent reads it.
    assert.deepEqual(t.files.map((f) => [f.path.join('/'), f.length, f.offset]), [['a', 5, 0], ['b', 3, 5], ['no-target', 0, 8], ['bad-target', 0, 8]]);
    assert.deepEqual(t.symlinks, [{ path: ['link'], originalPath: ['link'], target: ['etc', 'passwd'] }]);
    assert.match(t.warnings?.join('\n') ?? '', /symlink "link" -> "etc\/passwd" is not created/);
  });
  test('bytes after the top-level dictionary are a warning, not an error', () => {
    const bytes = torrent(info());
    const t = parseTorrent(Buffer.concat([bytes, Buffer.from('\r\nxyz')]));
    assert.equal(t.infoHashHex, parseTorrent(bytes).infoHashHex);
    assert.deepEqual(t.warnings, ["ignored 5 bytes after the end of the torrent's top-level dictionary"]);
    // The info dict from BEP 9 metadata stays strict.
    assert.throws(() => torrentFromInfo(Buffer.concat([encode(info()), Buffer.from('x')])), BencodeError);
  });
});

describe('checkPathComponent', () => {
  for (const ok of ['a', 'file.txt', '...', '.hidden', 'é', '日本語', 'a b', 'x'.repeat(255)]) {
    test(`accepts ${JSON.stringify(ok.slice(0, 20))}`, () => {
      assert.doesNotThrow(() => checkPathComponent(ok, 'f'));
    });
  }
  for (const bad of ['', '.', '..', 'a/b', '/', 'a\\b', 'a\0', 'C:', 'c:evil', 'x'.repeat(256), 'é'.repeat(128)]) {
    test(`refuses ${JSON.stringify(bad.slice(0, 20))}`, () => {
      assert.throws(() => checkPathComponent(bad, 'f'), (e: unknown) => e instanceof MetainfoError && e.field === 'f');
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Interop: torrents made by real tools, read by pytor and by libtorrent, must agree.

const PY = '/usr/bin/python3';
const LT_INFO = join(process.cwd(), 'test', 'interop', 'py', 'lt_info.py');
const LT_MAKE = join(process.cwd(), 'test', 'interop', 'py', 'lt_make_torrent.py');
const REAL = join(process.cwd(), 'test', 'fixtures', 'real');

interface LtInfo {
  infoHash: string;
  trackers: { url: string; tier: number }[];
  webSeeds: string[];
  comment: string;
  creator: string;
  creationDate: number | null;
  name: string;
  totalSize: number;
  pieceLength: number;
  numPieces: number;
  files: { path: string; size: number; pad: boolean }[];
  private: boolean;
}
interface PytorJson {
  infoHash: string;
  announce: string | null;
  announceList: string[][];
  urlList: string[];
  comment: string | null;
  createdBy: string | null;
  creationDate: number | null;
  name: string;
  length: number;
  pieceLength: number;
  pieceCount: number;
  private: boolean;
  files: { path: string; length: number; padding: boolean }[];
}

function ltInfo(file: string): LtInfo {
  return JSON.parse(execFileSync(PY, [LT_INFO, file], { encoding: 'utf8' })) as LtInfo;
}

let work = '';
/** Torrents made here at run time: [label, path, expected: 'ok' | 'v2-only']. */
const made: [string, string, 'ok' | 'v2-only'][] = [];

function makeFixtures(): void {
  work = mkdtempSync(join(tmpdir(), 'pytor-meta-'));
  const r = prng(2024);
  const data = join(work, 'data');
  // Single files of several sizes.
  mkdirSync(data);
  writeFileSync(join(data, 'single.bin'), randomBytes(r, 300_000));
  writeFileSync(join(data, 'big.bin'), randomBytes(r, 9 * 1024 * 1024 + 12345));
  writeFileSync(join(data, 'tiny.txt'), 'hello\n');
  // A nested multi-file tree with a zero-length file and unicode names.
  const tree = join(data, 'Album Ünïcode 日本');
  mkdirSync(join(tree, 'cd1', 'deep'), { recursive: true });
  mkdirSync(join(tree, 'cd2'));
  writeFileSync(join(tree, 'cd1', 'deep', 'track 01 — intro.flac'), randomBytes(r, 70_001));
  writeFileSync(join(tree, 'cd1', 'empty.cue'), '');
  writeFileSync(join(tree, 'cd2', 'Grüße.txt'), randomBytes(r, 33_333));
  writeFileSync(join(tree, 'cover.jpg'), randomBytes(r, 16384));
  const out = (name: string) => join(work, name);
  const tools: [string, string, string[], 'ok' | 'v2-only'][] = [
    ['mktorrent single 32 KiB', 'mk-single.torrent', ['mktorrent', '-l', '15', '-a', 'http://t.example/a', '-o', out('mk-single.torrent'), join(data, 'single.bin')], 'ok'],
    ['mktorrent tree 32 KiB', 'mk-tree.torrent', ['mktorrent', '-l', '15', '-c', 'comment', '-o', out('mk-tree.torrent'), tree], 'ok'],
    ['mktorrent big 4 MiB', 'mk-big.torrent', ['mktorrent', '-l', '22', '-p', '-a', 'http://t.example/a', '-o', out('mk-big.torrent'), join(data, 'big.bin')], 'ok'],
    ['mktorrent tiny 1 MiB', 'mk-tiny.torrent', ['mktorrent', '-l', '20', '-o', out('mk-tiny.torrent'), join(data, 'tiny.txt')], 'ok'],
    ['transmission-create single 16 KiB', 'tc-single.torrent', ['transmission-create', '-s', '16', '-o', out('tc-single.torrent'), join(data, 'single.bin')], 'ok'],
    ['transmission-create tree 64 KiB', 'tc-tree.torrent', ['transmission-create', '-s', '64', '-p', '-t', 'udp://t.example:80', '-o', out('tc-tree.torrent'), tree], 'ok'],
    ['transmission-create big 2 MiB', 'tc-big.torrent', ['transmission-create', '-s', '2048', '-o', out('tc-big.torrent'), join(data, 'big.bin')], 'ok'],
  ];
  for (const [label, file, [cmd, ...args], expect] of tools) {
    execFileSync(cmd!, args, { stdio: 'ignore' });
    made.push([label, out(file), expect]);
  }
  const lt = (label: string, file: string, cfg: object, expect: 'ok' | 'v2-only') => {
    execFileSync(PY, [LT_MAKE, JSON.stringify({ outFile: out(file), ...cfg })], { stdio: 'ignore' });
    made.push([label, out(file), expect]);
  };
  lt('libtorrent v1 tree 16 KiB', 'lt-v1-tree.torrent', { dataPath: tree, pieceLength: 16384, v1Only: true, trackers: ['http://a/', ['http://b/', 'http://c/']] }, 'ok');
  lt('libtorrent hybrid tree 16 KiB', 'lt-hybrid-tree.torrent', { dataPath: tree, pieceLength: 16384 }, 'ok');
  lt('libtorrent hybrid single 256 KiB', 'lt-hybrid-single.torrent', { dataPath: join(data, 'big.bin'), pieceLength: 262144 }, 'ok');
  lt('libtorrent hybrid tree 4 MiB', 'lt-hybrid-4m.torrent', { dataPath: tree, pieceLength: 4 * 1024 * 1024 }, 'ok');
  lt('libtorrent v2-only tree', 'lt-v2.torrent', { dataPath: tree, pieceLength: 16384, v2Only: true }, 'v2-only');
}

/** Whether the torrent's info dict has `files`, read with the npm bencode package (not ours). */
async function isMultiFile(file: string): Promise<boolean> {
  const specifier: string = 'bencode';
  const oracle = ((await import(specifier)) as { default: { decode(b: Uint8Array): { info?: { files?: unknown } } } }).default;
  return oracle.decode(readFileSync(file)).info?.files !== undefined;
}

async function compareWithLibtorrent(file: string, lt: LtInfo = ltInfo(file)): Promise<void> {
  const run = await runPytor(['info', '--json', file], { timeoutMs: 20_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const ours = JSON.parse(run.stdout) as PytorJson;
  assert.match(lt.infoHash, /^[0-9a-f]{40}$/);
  assert.equal(ours.infoHash, lt.infoHash, 'info-hash');
  assert.equal(ours.name, lt.name, 'name');
  assert.equal(ours.length, lt.totalSize, 'total size');
  assert.equal(ours.pieceLength, lt.pieceLength, 'piece length');
  assert.equal(ours.pieceCount, lt.numPieces, 'piece count');
  assert.equal(ours.private, lt.private, 'private');
  // libtorrent's file_path is "<name>/<path>" in a multi-file torrent and "<name>" in a
  // single-file one; ours is the path below the torrent's folder (so "<name>" for single-file).
  const multi = await isMultiFile(file);
  assert.deepEqual(
    ours.files.map((f) => ({ path: multi ? `${ours.name}/${f.path}` : f.path, size: f.length, pad: f.padding })),
    lt.files,
    'files',
  );
  // Trackers: libtorrent lists announce-list tiers when present, else announce as tier 0. It
  // shuffles the URLs within a tier (BEP 12), so each tier is compared as a set.
  const tiers = ours.announceList.length > 0 ? ours.announceList : ours.announce ? [[ours.announce]] : [];
  const key = (t: { url: string; tier: number }) => `${t.tier} ${t.url}`;
  assert.deepEqual(
    tiers.flatMap((tier, i) => tier.map((url) => key({ url, tier: i }))).sort(),
    lt.trackers.map(key).sort(),
    'trackers',
  );
  assert.deepEqual(ours.urlList, lt.webSeeds, 'web seeds');
  assert.equal(ours.comment ?? '', lt.comment, 'comment');
  assert.equal(ours.createdBy ?? '', lt.creator, 'created by');
  assert.equal(ours.creationDate, lt.creationDate, 'creation date');
}

describe('interop: pytor info --json agrees with libtorrent', () => {
  before(makeFixtures);
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('torrents made at run time by mktorrent, transmission-create and libtorrent', async () => {
    assert.ok(made.length >= 12);
    let compared = 0;
    for (const [label, file, expect] of made) {
      if (expect === 'v2-only') {
        const run = await runPytor(['info', file], { timeoutMs: 20_000 });
        assert.equal(run.code, 1, label);
        assert.equal(run.stdout, '', label);
        assert.equal(run.stderr, `pytor: ${file}: v2-only torrents are not supported yet\n`, label);
        assert.equal(ltInfo(file).infoHash, '', `${label}: libtorrent sees no v1 part either`);
        continue;
      }
      await compareWithLibtorrent(file).catch((err: unknown) => {
        throw new Error(`${label}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      compared++;
    }
    assert.ok(compared >= 11);
  });

  test('the hybrid torrent has padding files and both agree on them', async () => {
    const hybrid = made.find(([label]) => label === 'libtorrent hybrid tree 16 KiB');
    assert.ok(hybrid);
    const lt = ltInfo(hybrid[1]);
    assert.ok(lt.files.some((f) => f.pad), 'libtorrent made pad files');
    const t = parseTorrent(readFileSync(hybrid[1]));
    assert.equal(t.files.filter((f) => f.padding).length, lt.files.filter((f) => f.pad).length);
  });

  test('every fixture in test/fixtures/real (made by the fixtures generator) agrees too', async () => {
    // The directory is committed (possibly empty); each .torrent in it is checked.
    assert.ok(existsSync(REAL), 'test/fixtures/real exists');
    const files = readdirSync(REAL).filter((f) => f.endsWith('.torrent')).sort();
    assert.ok(files.length >= 10, `only ${files.length} fixtures`);
    let v2only = 0;
    let hybrid = 0;
    for (const name of files) {
      const file = join(REAL, name);
      const lt = ltInfo(file);
      // The committed golden (what libtorrent read when the fixture was made) must match too.
      const goldenPath = file.replace(/\.torrent$/, '.lt.json');
      const golden = existsSync(goldenPath) ? (JSON.parse(readFileSync(goldenPath, 'utf8')) as LtInfo) : undefined;
      if (golden) {
        const stable = (x: LtInfo) => ({ ...x, trackers: x.trackers.map((t) => `${t.tier} ${t.url}`).sort() });
        assert.deepEqual(stable(lt), stable(golden), `${name}: libtorrent now reads it differently from its .lt.json`);
      }
      if (lt.infoHash === '') {
        v2only++;
        const run = await runPytor(['info', file], { timeoutMs: 20_000 });
        assert.equal(run.code, 1, name);
        assert.equal(run.stdout, '', name);
        assert.equal(run.stderr, `pytor: ${file}: v2-only torrents are not supported yet\n`, name);
        continue;
      }
      if ((lt as LtInfo & { infoHashV2: string }).infoHashV2 !== '') hybrid++;
      await compareWithLibtorrent(file, lt).catch((err: unknown) => {
        throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
    }
    assert.ok(v2only >= 1 && hybrid >= 1, `v2-only ${v2only}, hybrid ${hybrid}`);
  });

  test('a hand-made torrent with unsorted info keys: libtorrent agrees on the info-hash', async () => {
    const pieces = Buffer.alloc(40, 7);
    const raw = Buffer.concat([
      Buffer.from('d4:infod6:pieces40:'),
      pieces,
      Buffer.from('4:name3:abc12:piece lengthi16384e6:lengthi20000ee8:announce9:http://t/e'),
    ]);
    const file = join(work, 'unsorted.torrent');
    writeFileSync(file, raw);
    const infoRaw = raw.subarray('d4:info'.length, raw.indexOf('8:announce'));
    assert.equal(infoRaw[0], 0x64);
    assert.equal(infoRaw.at(-1), 0x65);
    await compareWithLibtorrent(file);
    assert.equal(ltInfo(file).infoHash, sha1(infoRaw));
    assert.equal(parseTorrent(raw).infoHashHex, sha1(infoRaw));
  });
});

describe('parseTorrent: non-canonical bencode is read as libtorrent reads it, with a warning', () => {
  const canonical = torrent(info({ name: 'file.bin' }));
  const text = canonical.toString('latin1');

  test('leading zeros: same torrent, same info-hash as the bytes in the file, a warning per kind', () => {
    const bytes = Buffer.from(text.replace('i40000e', 'i040000e').replace('8:file.bin', '08:file.bin'), 'latin1');
    const t = parseTorrent(bytes);
    assert.equal(t.length, 40000);
    assert.equal(t.name, 'file.bin');
    // The info-hash is of the info dict as it stands in the file (zeros and all), as libtorrent's.
    const infoRaw = bytes.subarray(bytes.indexOf('4:infod') + 6, bytes.length - 1);
    assert.equal(t.infoHashHex, sha1(infoRaw));
    assert.notEqual(t.infoHashHex, parseTorrent(canonical).infoHashHex);
    // One warning per kind, in the order met.
    assert.deepEqual(t.warnings, [
      `non-canonical bencode: leading zero in an integer at byte ${bytes.indexOf('040000e')}; read as libtorrent does`,
      `non-canonical bencode: leading zero in a string length at byte ${bytes.indexOf('08:file.bin')}; read as libtorrent does`,
    ]);
  });

  test('duplicate keys: the first wins, the info-hash is of the first info dict', () => {
    const first = encode(info({ name: 'first' }));
    const second = encode(info({ name: 'second', length: 100 }));
    const bytes = Buffer.concat([Buffer.from('d4:info'), first, Buffer.from('4:info'), second, Buffer.from('e')]);
    const t = parseTorrent(bytes);
    assert.equal(t.name, 'first');
    assert.equal(t.length, 40000);
    assert.equal(t.infoHashHex, sha1(first));
    assert.deepEqual(t.warnings, [`non-canonical bencode: duplicate dictionary key "info" (the first one is used) at byte ${7 + first.length}; read as libtorrent does`]);
  });

  test('a count when it happens more than once', () => {
    const bytes = Buffer.from(text.replace('i40000e', 'i040000e').replace('i16384e', 'i016384e'), 'latin1');
    const w = parseTorrent(bytes).warnings ?? [];
    assert.equal(w.length, 1);
    assert.match(w[0]!, /leading zero in an integer at byte \d+ \(and 1 more\); read as libtorrent does$/);
  });

  test('a canonical torrent gets no such warning', () => {
    assert.deepEqual(parseTorrent(canonical).warnings, []);
  });

  test('metadata from peers (torrentFromInfo) stays strict', () => {
    const infoRaw = Buffer.from(encode(info()).toString('latin1').replace('i40000e', 'i040000e'), 'latin1');
    assert.throws(() => torrentFromInfo(infoRaw), (err: unknown) => err instanceof BencodeError && /leading zero in integer/.test(err.message));
    const dup = Buffer.from(encode(info()).toString('latin1').replace('d6:length', 'd6:lengthi1e6:length'), 'latin1');
    assert.throws(() => torrentFromInfo(dup), (err: unknown) => err instanceof BencodeError && /duplicate dictionary key "length"/.test(err.message));
  });
});
