// Edge-case torrents of our own making, as torrents from the wild hold them: names with
// backslashes, over-long CJK names, duplicates, `..`, absolute paths, invalid UTF-8, pad files,
// symlinks, trailing bytes, and the structural faults every client refuses. Each torrent has
// real piece hashes over a seeded payload, so the same cases can be downloaded and seeded.

import { createHash } from 'node:crypto';
import { encode, type Encodable } from '../../src/bencode/index.js';
import { prng, randomBytes } from '../helpers/random.js';

export const CORPUS_PIECE_LENGTH = 16384;

export interface CorpusCase {
  /** File-name-safe id (`multi-backslash`). */
  readonly id: string;
  readonly what: string;
  /** The .torrent file's bytes. */
  readonly torrent: Buffer;
  /** The torrent's whole byte stream (files in order, pad files as zeros). */
  readonly stream: Buffer;
  /** What pytor does with it; the oracles (libtorrent, Transmission) are asked in the test. */
  readonly pytor: 'open' | 'refuse';
  /** For refused cases: words the one-line error must hold. */
  readonly refusal?: string;
  /** Worth a download/seed round trip with a real peer (opens, names get changed). */
  readonly transfer?: boolean;
}

type Dict = { [key: string]: Encodable | undefined };
type Bytes = string | Buffer;

interface FileSpec {
  readonly path?: readonly Bytes[];
  readonly length: number;
  readonly attr?: string;
  readonly extra?: Dict;
}

const CJK_TITLE = '進撃の巨人 The Final Season 完結編 前編 後編 特典映像 ';

/** Piece hashes of `stream` in pieces of `pieceLength`. */
function hashPieces(stream: Buffer, pieceLength: number): Buffer {
  const hashes: Buffer[] = [];
  for (let at = 0; at < stream.length; at += pieceLength) {
    hashes.push(createHash('sha1').update(stream.subarray(at, at + pieceLength)).digest());
  }
  return Buffer.concat(hashes);
}

function bytesOf(b: Bytes): Buffer {
  return typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
}

/** Builds a multi-file torrent with real hashes; pad files and symlinks hold zeros / nothing. */
function multi(seed: number, name: Bytes | undefined, files: readonly FileSpec[], infoExtra: Dict = {}): { torrent: Buffer; stream: Buffer } {
  const r = prng(seed);
  const parts: Buffer[] = [];
  const list = files.map((f) => {
    const isLink = f.attr?.includes('l') && f.extra?.['symlink path'] !== undefined;
    const size = Math.max(0, f.length);
    if (!isLink) parts.push(f.attr?.includes('p') ? Buffer.alloc(size) : randomBytes(r, size));
    const entry: Dict = { length: f.length, ...f.extra };
    if (f.path) entry.path = f.path.map(bytesOf);
    if (f.attr) entry.attr = f.attr;
    return stripUndefined(entry);
  });
  const stream = Buffer.concat(parts);
  const info: Dict = { files: list, 'piece length': CORPUS_PIECE_LENGTH, pieces: hashPieces(stream, CORPUS_PIECE_LENGTH), ...infoExtra };
  if (name !== undefined) info.name = bytesOf(name);
  return { torrent: encode({ 'created by': 'pytor sanitize corpus', info: stripUndefined(info) }), stream };
}

function single(seed: number, name: Bytes | undefined, length: number, infoExtra: Dict = {}): { torrent: Buffer; stream: Buffer } {
  const stream = randomBytes(prng(seed), length);
  const info: Dict = { length, 'piece length': CORPUS_PIECE_LENGTH, pieces: hashPieces(stream, CORPUS_PIECE_LENGTH), ...infoExtra };
  if (name !== undefined) info.name = bytesOf(name);
  return { torrent: encode({ 'created by': 'pytor sanitize corpus', info: stripUndefined(info) }), stream };
}

function stripUndefined(d: Dict): Encodable {
  const out: { [key: string]: Encodable } = {};
  for (const [k, v] of Object.entries(d)) if (v !== undefined) out[k] = v;
  return out;
}

/** Every case, made fresh (deterministic: the same bytes on every run). */
export function makeSanitizeCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const open = (id: string, what: string, made: { torrent: Buffer; stream: Buffer }, transfer = false) =>
    cases.push({ id, what, ...made, pytor: 'open', transfer });
  const refuse = (id: string, what: string, made: { torrent: Buffer; stream: Buffer }, refusal: string) =>
    cases.push({ id, what, ...made, pytor: 'refuse', refusal });
  const f = (path: readonly Bytes[], length: number, more: Partial<FileSpec> = {}): FileSpec => ({ path, length, ...more });

  // --- names that are made safe --------------------------------------------------------------
  open('single-backslash', 'single file named with backslashes', single(1, 'Season 1\\Episode 01.mkv', 20000), true);
  open('multi-backslash', 'Windows-made paths: backslash inside components', multi(2, 'Show', [f(['Season 1\\Episode 01.mkv'], 20000), f(['Season 1\\Episode 02.mkv'], 9000), f(['extras', 'a\\b\\c.txt'], 3000)]), true);
  const longCjk = `${CJK_TITLE.repeat(5)}.mkv`; // about 500 bytes of UTF-8
  open('single-long-cjk', 'single file with a CJK name over 255 bytes', single(3, longCjk, 30000), true);
  open('multi-long-cjk', 'CJK folder and file names over 255 bytes', multi(4, CJK_TITLE.repeat(4), [f([CJK_TITLE.repeat(4), `${CJK_TITLE.repeat(5)}.mkv`], 20000), f([`${CJK_TITLE.repeat(5)}.srt`], 5000), f(['x'.repeat(300)], 100)]), true);
  open('multi-duplicate', 'two files with the same path, and case-only twins', multi(5, 'dups', [f(['a', 'b.txt'], 7000), f(['a', 'b.txt'], 8000), f(['a', 'B.TXT'], 6000), f(['a', 'b.1.txt'], 500)]), true);
  open('multi-duplicate-after-sanitize', 'paths that become equal once sanitized', multi(6, 'dups2', [f(['x/y'], 4000), f(['x\\y'], 4000), f(['x_y'], 4000), f(['.', 'x_y'], 4000)]), true);
  open('multi-file-and-folder', 'a file with the name of a folder', multi(7, 'clash', [f(['a'], 5000), f(['a', 'b'], 5000), f(['a', 'b', 'c'], 5000)]), true);
  open('multi-empty-component', 'empty path components', multi(8, 'empties', [f(['', 'dir', '', 'file.bin'], 12000), f(['ok.bin'], 3000)]), true);
  open('multi-dotdot', '`..` and `.` components', multi(9, 'dots', [f(['..', '..', 'etc', 'passwd'], 6000), f(['.', 'sub', '..', 'x.bin'], 6000), f(['...', 'y.bin'], 100)]), true);
  open('multi-absolute', 'absolute paths', multi(10, 'abs', [f(['/etc/passwd'], 5000), f(['', 'tmp', 'evil.sh'], 5000), f(['C:', 'Windows', 'x.dll'], 5000), f(['C:\\Windows\\y.dll'], 500)]), true);
  open('multi-control-chars', 'NUL, ESC, newline and bidi overrides in names', multi(11, 'ctrl', [f(['nul\0byte.txt'], 4000), f(['esc\x1b[31mred'], 4000), f(['line\nbreak'], 4000), f(['innocent\u202Egpj.exe'], 4000)]), true);
  open('single-control-chars', 'single file with control characters', single(12, 'bell\x07\x1b]0;title\x07.bin', 9000), true);
  open('multi-invalid-utf8', 'invalid UTF-8 in names', multi(13, Buffer.from([0x4e, 0x61, 0xff, 0x6d, 0x65]), [f([Buffer.from([0x66, 0xc3, 0x28, 0x2e, 0x62, 0x69, 0x6e])], 6000), f([Buffer.from([0xfe, 0xfe])], 6000), f([Buffer.from([0xff, 0xff])], 6000)]), true);
  open('multi-utf8-keys', '`name.utf-8` and `path.utf-8` preferred over invalid `name`/`path`', multi(14, Buffer.from([0xe9, 0x74, 0xe9]), [f([Buffer.from([0xe9, 0x74, 0xe9, 0x2e, 0x74, 0x78, 0x74])], 6000, { extra: { 'path.utf-8': [Buffer.from('été.txt')] } })], { 'name.utf-8': Buffer.from('été') }), true);
  open('single-utf8-name', 'single file with `name.utf-8`', single(15, Buffer.from([0xc9, 0x74, 0xe9, 0x2e, 0x62, 0x69, 0x6e]), 6000, { 'name.utf-8': Buffer.from('Été.bin') }), true);
  open('multi-dot-name', 'torrent folder named `..`: the info-hash is used', multi(16, '..', [f(['a.bin'], 7000), f(['b.bin'], 7000)]), true);
  open('multi-empty-name', 'torrent folder with an empty name', multi(17, '', [f(['a.bin'], 7000)]), true);
  // libtorrent refuses this one ("missing name"), so it has no real seeder: parsed only.
  open('multi-no-name', 'multi-file torrent without a name', multi(18, undefined, [f(['a.bin'], 7000)]));
  open('multi-slash-name', 'torrent folder name with slashes', multi(19, '/abs/olute', [f(['a.bin'], 7000)]), true);
  open('multi-all-dropped', 'a file path that is only `..` and empty components', multi(20, 'gone', [f(['..', ''], 4000), f(['real.bin'], 4000)]), true);

  // --- BEP 47 ------------------------------------------------------------------------------
  const padLen = CORPUS_PIECE_LENGTH - 10000;
  open('multi-pad-files', 'pad files with and without a path, two with the same path', multi(21, 'padded', [f(['one.bin'], 10000), f(['.pad', String(padLen)], padLen, { attr: 'p' }), f(['two.bin'], 10000), { length: padLen, attr: 'p' }, f(['three.bin'], 10000), f(['.pad', String(padLen)], padLen, { attr: 'p' }), f(['four.bin'], 500)]), true);
  open('multi-pad-unsafe-path', 'a pad file whose path is `../../x`', multi(22, 'padded2', [f(['one.bin'], 10000), f(['..', '..', 'x'], padLen, { attr: 'p' }), f(['two.bin'], 10000)]), true);
  open('multi-symlink', 'a symlink (attr l) with a length that is not payload', multi(23, 'links', [f(['data.bin'], 20000), f(['link-to-data'], 20000, { attr: 'l', extra: { 'symlink path': [Buffer.from('data.bin')] } }), f(['after.bin'], 3000)]), true);
  open('multi-symlink-outside', 'a symlink pointing outside the torrent', multi(24, 'links2', [f(['data.bin'], 20000), f(['escape'], 0, { attr: 'l', extra: { 'symlink path': [Buffer.from('..'), Buffer.from('..'), Buffer.from('etc'), Buffer.from('passwd')] } })]), true);

  // --- framing of the .torrent file ----------------------------------------------------------
  const tail = single(25, 'tail.bin', 9000);
  open('single-trailing-bytes', 'stray bytes after the final `e`', { torrent: Buffer.concat([tail.torrent, Buffer.from('\r\n\0garbage')]), stream: tail.stream }, true);
  const tailMulti = multi(26, 'tailm', [f(['a.bin'], 9000), f(['b.bin'], 9000)]);
  open('multi-trailing-bytes', 'a second dictionary after the first', { torrent: Buffer.concat([tailMulti.torrent, Buffer.from('d1:ai1ee')]), stream: tailMulti.stream });

  // --- structural faults: refused --------------------------------------------------------------
  const ok = single(30, 'ok.bin', 40000);
  refuse('no-info', 'no info dict', { torrent: encode({ announce: 'http://t.example/a' }), stream: ok.stream }, 'info is missing');
  refuse('pieces-not-20', 'pieces not a multiple of 20', single(31, 'p.bin', 40000, { pieces: Buffer.alloc(41) }), 'not a multiple of 20');
  refuse('piece-count-mismatch', 'piece count not matching the size', single(32, 'p.bin', 40000, { pieces: Buffer.alloc(40) }), 'need 3');
  refuse('single-negative-length', 'a negative length', single(33, 'n.bin', 40000, { length: -5 }), 'is negative');
  refuse('single-missing-length', 'neither length nor files', single(34, 'n.bin', 40000, { length: undefined }), 'neither');
  refuse('multi-negative-length', 'a file with a negative length', multi(35, 'neg', [f(['a'], 5000), f(['b'], -1)]), 'is negative');
  refuse('multi-missing-length', 'a file without a length', multi(36, 'nolen', [f(['a'], 5000), f(['b'], 5000, { extra: { length: undefined } })]), 'length is missing');
  refuse('multi-missing-path', 'a data file without a path', multi(37, 'nopath', [f(['a'], 5000), { length: 5000 }]), 'path is missing');
  refuse('single-no-name', 'a single file without a name', single(38, undefined, 9000), 'info.name is missing');
  refuse('single-empty-name', 'a single file with an empty name', single(39, '', 9000), 'leaves no file name');
  refuse('single-dotdot-name', 'a single file named `..`', single(40, '..', 9000), 'leaves no file name');
  refuse('v2-only', 'a v2-only torrent', { torrent: encode({ info: { 'file tree': { 'a.bin': { '': { length: 9000, 'pieces root': Buffer.alloc(32, 1) } } }, 'meta version': 2, name: 'v2', 'piece length': CORPUS_PIECE_LENGTH } }), stream: ok.stream }, 'v2-only');
  return cases;
}
