import { pieceSize, type Torrent } from '../metainfo/types.js';
import { StorageError } from './errors.js';

/** One contiguous run of a piece (or block) inside one file. */
export interface FileSpan {
  /** Index into torrent.files. */
  readonly fileIndex: number;
  /** Where the run starts inside that file. */
  readonly fileOffset: number;
  readonly length: number;
  /** Where the run starts inside the piece/block buffer. */
  readonly bufferOffset: number;
  /** BEP 47 pad file: never written, reads back as zeros. */
  readonly padding: boolean;
}

export type PieceGeometry = Pick<Torrent, 'files' | 'pieceLength' | 'length' | 'pieces'>;

/**
 * Maps bytes [begin, begin+length) of piece `pieceIndex` onto the files they live in, in
 * order. Zero-length files hold no bytes and so never appear. Throws ERANGE when the range
 * does not lie inside the piece.
 */
export function pieceSpans(
  torrent: PieceGeometry,
  pieceIndex: number,
  begin = 0,
  length?: number,
): FileSpan[] {
  if (!Number.isInteger(pieceIndex) || pieceIndex < 0 || pieceIndex >= torrent.pieces.length) {
    throw new StorageError('ERANGE', undefined, `piece ${pieceIndex} out of range (0..${torrent.pieces.length - 1})`);
  }
  const size = pieceSize(torrent, pieceIndex);
  const len = length ?? size - begin;
  if (!Number.isInteger(begin) || !Number.isInteger(len) || begin < 0 || len < 0 || begin + len > size) {
    throw new StorageError(
      'ERANGE',
      undefined,
      `range ${begin}+${len} outside piece ${pieceIndex} of ${size} bytes`,
    );
  }
  return byteRangeSpans(torrent.files, pieceIndex * torrent.pieceLength + begin, len);
}

/** Maps torrent-stream bytes [start, start+length) onto files. */
export function byteRangeSpans(files: PieceGeometry['files'], start: number, length: number): FileSpan[] {
  const spans: FileSpan[] = [];
  if (length === 0) return spans;
  const end = start + length;
  let i = firstFileEndingAfter(files, start);
  while (i < files.length) {
    const file = files[i]!;
    if (file.offset >= end) break;
    if (file.length > 0) {
      const from = Math.max(start, file.offset);
      const to = Math.min(end, file.offset + file.length);
      if (to > from) {
        spans.push({
          fileIndex: i,
          fileOffset: from - file.offset,
          length: to - from,
          bufferOffset: from - start,
          padding: file.padding,
        });
      }
    }
    i++;
  }
  const covered = spans.reduce((n, s) => n + s.length, 0);
  if (covered !== length) {
    // The file list does not cover the byte stream: a geometry bug, never silently short.
    throw new StorageError('ERANGE', undefined, `files cover ${covered} of bytes ${start}+${length}`);
  }
  return spans;
}

/** Binary search: the first file whose end (offset+length) lies past `pos`. Ends are nondecreasing. */
function firstFileEndingAfter(files: PieceGeometry['files'], pos: number): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid]!;
    if (f.offset + f.length > pos) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
