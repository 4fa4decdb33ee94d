/**
 * Fast resume: what a torrent's data looked like when we last knew it was verified, so a
 * restart trusts unchanged files instead of hashing them again. Pure: the codec and the
 * decision which pieces to trust; reading stamps and writing the file belong to others.
 *
 * A file is unchanged when its size and modification time (to the nanosecond) are what we
 * recorded. A piece is trusted only when every file it touches is unchanged: then it is
 * held if the recorded bitfield says so (its hash was checked when it was written or at an
 * earlier check) and missing otherwise. Any other piece is checked by hashing.
 */
import { decode, encode, isBytes, isDict, isInteger, isList, type BValue } from '../bencode/index.js';
import type { Torrent } from '../metainfo/index.js';
import { pieceSpans } from './file-map.js';

/** A file's identity on disk; `size` -1 when it did not exist. */
export interface FileStamp {
  readonly size: number;
  readonly mtimeNs: bigint;
}

export const MISSING_FILE: FileStamp = Object.freeze({ size: -1, mtimeNs: 0n });

export interface ResumeData {
  readonly infoHash: Buffer;
  /** The output folder, resolved: resume data for another folder says nothing. */
  readonly outDir: string;
  /** Verified pieces, one bit each (BEP 3 bitfield order). */
  readonly bitfield: Buffer;
  /** One stamp per torrent file (pad files included, as MISSING_FILE). */
  readonly files: readonly FileStamp[];
  /** Totals over every run. */
  readonly uploaded: number;
  readonly downloaded: number;
}

/** What a piece needs at start-up. */
export const PieceTrust = { check: 0, held: 1, missing: 2 } as const;

/** Resume files are small (a bit per piece, a stamp per file); refuse anything huge. */
export const MAX_RESUME_BYTES = 64 * 1024 * 1024;

export class ResumeError extends Error {
  readonly code = 'ERESUME';
  constructor(readonly field: string, detail: string) {
    super(`resume data: ${field}: ${detail}`);
    this.name = 'ResumeError';
  }
}

export function encodeResume(r: ResumeData): Buffer {
  return encode({
    'info-hash': r.infoHash,
    'out-dir': r.outDir,
    pieces: r.bitfield,
    files: r.files.map((f) => [f.size, f.mtimeNs]),
    uploaded: r.uploaded,
    downloaded: r.downloaded,
    version: 1,
  });
}

/** Decodes and checks resume data against the torrent it must belong to; throws ResumeError. */
export function decodeResume(buf: Uint8Array, torrent: Pick<Torrent, 'infoHash' | 'pieces' | 'files'>): ResumeData {
  if (buf.length > MAX_RESUME_BYTES) throw new ResumeError('size', `${buf.length} bytes is too large`);
  let root: BValue;
  try {
    root = decode(buf);
  } catch (err) {
    throw new ResumeError('bencode', (err as Error).message);
  }
  if (!isDict(root)) throw new ResumeError('root', 'not a dictionary');
  const infoHash = root.get('info-hash');
  if (!isBytes(infoHash) || !infoHash.equals(torrent.infoHash)) throw new ResumeError('info-hash', 'belongs to another torrent');
  const outDir = root.get('out-dir');
  if (!isBytes(outDir)) throw new ResumeError('out-dir', 'missing');
  const bitfield = root.get('pieces');
  if (!isBytes(bitfield) || bitfield.length !== Math.ceil(torrent.pieces.length / 8)) {
    throw new ResumeError('pieces', `not a bitfield of ${torrent.pieces.length} pieces`);
  }
  const files = root.get('files');
  if (!isList(files) || files.length !== torrent.files.length) throw new ResumeError('files', `not ${torrent.files.length} stamps`);
  const stamps = files.map((f, i): FileStamp => {
    if (!isList(f) || f.length !== 2) throw new ResumeError(`files[${i}]`, 'not [size, mtime]');
    const [size, mtime] = f;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < -1) throw new ResumeError(`files[${i}]`, 'bad size');
    if (!isInteger(mtime)) throw new ResumeError(`files[${i}]`, 'bad mtime');
    return { size, mtimeNs: BigInt(mtime) };
  });
  return {
    infoHash: Buffer.from(infoHash),
    outDir: outDir.toString('utf8'),
    bitfield: Buffer.from(bitfield),
    files: stamps,
    uploaded: counter(root.get('uploaded')),
    downloaded: counter(root.get('downloaded')),
  };
}

function counter(v: BValue | undefined): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

export function bitfieldHas(bitfield: Uint8Array, index: number): boolean {
  return ((bitfield[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0;
}

export function bitfieldOf(have: ArrayLike<boolean | number>): Buffer {
  const bits = Buffer.alloc(Math.ceil(have.length / 8));
  for (let i = 0; i < have.length; i++) if (have[i]) bits[i >> 3]! |= 0x80 >> (i & 7);
  return bits;
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return a !== undefined && b !== undefined && a.size === b.size && a.mtimeNs === b.mtimeNs && a.size >= 0;
}

/**
 * For each piece, whether to trust the resume data (held or missing) or to check it: `now`
 * holds the stamps of the files as found before anything touched them.
 */
export function pieceTrust(torrent: Pick<Torrent, 'files' | 'pieceLength' | 'length' | 'pieces'>, resume: ResumeData, now: readonly FileStamp[]): Uint8Array {
  const unchanged = torrent.files.map((f, i) => f.padding || sameStamp(resume.files[i], now[i]));
  const trust = new Uint8Array(torrent.pieces.length);
  for (let i = 0; i < trust.length; i++) {
    const spans = pieceSpans(torrent, i);
    if (!spans.every((s) => unchanged[s.fileIndex])) continue;
    trust[i] = bitfieldHas(resume.bitfield, i) ? PieceTrust.held : PieceTrust.missing;
  }
  return trust;
}
