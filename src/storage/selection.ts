// Which files of a torrent to download, and what that means for pieces: a piece is wanted
// when any byte of it lies in a wanted file; the bytes of a wanted piece that lie in an
// unwanted file (at most the first and last piece of each unwanted file) must not be written
// to that file, so they go to the part file instead.
import type { Torrent } from '../metainfo/types.js';
import { pieceSize } from '../metainfo/types.js';

export type SelectionGeometry = Pick<Torrent, 'files' | 'pieceLength' | 'length' | 'pieces'>;

/** A file path as the predicates see it: components below the torrent's folder joined with '/'. */
export type PathPredicate = (path: string) => boolean;

export interface SelectionSpec {
  /** 0-based file indices (from parseSelect); absent = all files. */
  readonly indices?: ReadonlySet<number>;
  /** Keep only files matching at least one of these (--only GLOB, repeatable). */
  readonly only?: readonly PathPredicate[];
  /** Then drop files matching any of these (--exclude GLOB, repeatable). */
  readonly exclude?: readonly PathPredicate[];
}

/** Most entries a --select list may name, ranges counted once: a bound on the text's work. */
export const MAX_SELECT_ITEMS = 10_000;

/**
 * '1,3-5' -> {0, 2, 3, 4}: 1-based file numbers as `pytor info` lists them (and as aria2's
 * --select-file takes them), ranges inclusive. Throws SelectionError (ESELECT) naming the item.
 */
export function parseSelect(text: string, fileCount: number): Set<number> {
  const out = new Set<number>();
  const items = text.split(',').map((s) => s.trim());
  if (items.length > MAX_SELECT_ITEMS) throw selectError(`more than ${MAX_SELECT_ITEMS} items`);
  for (const item of items) {
    const m = /^(\d{1,9})(?:\s*-\s*(\d{1,9}))?$/.exec(item);
    if (!m) throw selectError(`"${item}" is not a file number or range (e.g. 1,3-5)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to < 1) throw selectError(`"${item}": file numbers start at 1`);
    if (to < from) throw selectError(`"${item}": the range goes backwards`);
    if (to > fileCount) throw selectError(`"${item}": the torrent has ${fileCount} file${fileCount === 1 ? '' : 's'}`);
    for (let i = from; i <= to; i++) out.add(i - 1);
  }
  return out;
}

/** A --select/--only/--exclude that cannot be used; the CLI prints the message as one line. */
export class SelectionError extends Error {
  readonly code = 'ESELECT';
  constructor(readonly detail: string) {
    super(`invalid file selection: ${detail}`);
    this.name = 'SelectionError';
  }
}

function selectError(detail: string): SelectionError {
  return new SelectionError(detail);
}

/**
 * One flag per file: selected by index (all when none given), kept by `only`, not dropped by
 * `exclude`. Pad files are never wanted (they are never written). Throws ESELECT when nothing
 * with data is left, which is always a mistake on the command line.
 */
export function selectFiles(torrent: Pick<Torrent, 'files'>, spec: SelectionSpec): boolean[] {
  const wanted = torrent.files.map((f, i) => {
    if (f.padding) return false;
    if (spec.indices && !spec.indices.has(i)) return false;
    const path = f.path.join('/');
    if (spec.only && spec.only.length > 0 && !spec.only.some((p) => p(path))) return false;
    if (spec.exclude?.some((p) => p(path))) return false;
    return true;
  });
  if (!wanted.some((w, i) => w && torrent.files[i]!.length > 0)) throw selectError('no file with data is selected');
  return wanted;
}

/** Bytes of a wanted piece that lie in an unwanted file: they go to the part file. */
export interface UnwantedRange {
  readonly piece: number;
  /** Offset inside the piece. */
  readonly begin: number;
  readonly length: number;
  readonly fileIndex: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
}

export interface SelectionPlan {
  /** Per file. */
  readonly wantedFiles: readonly boolean[];
  /** Per piece: 1 when any byte of it lies in a wanted file. */
  readonly wantedPieces: Uint8Array;
  readonly wantedPieceCount: number;
  /** Bytes of wanted files (what "done" means for the progress bar). */
  readonly wantedBytes: number;
  /**
   * Wanted pieces that also hold bytes of unwanted (non-pad) files, each with those ranges in
   * piece order. Only these pieces need the part file.
   */
  readonly boundary: ReadonlyMap<number, readonly UnwantedRange[]>;
}

/** Works out pieces and boundary ranges for a per-file selection. O(files + pieces). */
export function planSelection(torrent: SelectionGeometry, wantedFiles: readonly boolean[]): SelectionPlan {
  if (wantedFiles.length !== torrent.files.length) {
    throw new RangeError(`selection has ${wantedFiles.length} flags for ${torrent.files.length} files`);
  }
  const pl = torrent.pieceLength;
  const wantedPieces = new Uint8Array(torrent.pieces.length);
  let wantedBytes = 0;
  for (const [i, f] of torrent.files.entries()) {
    if (!wantedFiles[i] || f.length === 0 || f.padding) continue;
    wantedBytes += f.length;
    const first = Math.floor(f.offset / pl);
    const last = Math.floor((f.offset + f.length - 1) / pl);
    wantedPieces.fill(1, first, last + 1);
  }
  const boundary = new Map<number, UnwantedRange[]>();
  for (const [i, f] of torrent.files.entries()) {
    if (wantedFiles[i] || f.length === 0 || f.padding) continue;
    // Pieces strictly inside an unwanted file hold nothing else: only its first and last can be wanted.
    const first = Math.floor(f.offset / pl);
    const last = Math.floor((f.offset + f.length - 1) / pl);
    for (const piece of first === last ? [first] : [first, last]) {
      if (!wantedPieces[piece]) continue;
      const pieceStart = piece * pl;
      const from = Math.max(f.offset, pieceStart);
      const to = Math.min(f.offset + f.length, pieceStart + pieceSize(torrent, piece));
      const list = boundary.get(piece) ?? [];
      list.push({ piece, begin: from - pieceStart, length: to - from, fileIndex: i, fileOffset: from - f.offset });
      boundary.set(piece, list);
    }
  }
  let wantedPieceCount = 0;
  for (const w of wantedPieces) wantedPieceCount += w;
  return { wantedFiles: [...wantedFiles], wantedPieces, wantedPieceCount, wantedBytes, boundary };
}

/**
 * Per piece, how many of its bytes lie in wanted files (0: the piece is not wanted). What
 * progress counts: a boundary piece counts only its bytes in selected files.
 */
export function wantedBytesPerPiece(torrent: SelectionGeometry, wantedFiles: readonly boolean[]): Float64Array {
  if (wantedFiles.length !== torrent.files.length) {
    throw new RangeError(`selection has ${wantedFiles.length} flags for ${torrent.files.length} files`);
  }
  const pl = torrent.pieceLength;
  const out = new Float64Array(torrent.pieces.length);
  for (const [i, f] of torrent.files.entries()) {
    if (!wantedFiles[i] || f.length === 0 || f.padding) continue;
    const end = f.offset + f.length;
    for (let piece = Math.floor(f.offset / pl); piece * pl < end; piece++) {
      const from = Math.max(f.offset, piece * pl);
      const to = Math.min(end, piece * pl + pieceSize(torrent, piece));
      out[piece]! += to - from;
    }
  }
  return out;
}
