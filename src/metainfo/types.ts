/** One file of a torrent, in the order the torrent lists them. */
export interface TorrentFile {
  /**
   * Safe on-disk path components below the torrent's folder; for a single-file torrent, [name].
   * Derived by sanitize.ts (never empty, `.`, `..`, a separator, a control character or more
   * than 255 bytes; unique, case-insensitively, among the torrent's data files and folders).
   * Storage, download and seed use this one.
   */
  readonly path: readonly string[];
  /**
   * The path as the torrent states it (UTF-8 decoded, invalid bytes as U+FFFD; for a pad file
   * without a path, []). Shown to people; never used to touch the disk. Always set by
   * parseTorrent; optional so that a Torrent built by hand (tests, create) needs none.
   */
  readonly originalPath?: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the torrent's concatenated byte stream. */
  readonly offset: number;
  /** BEP 47 padding file: counted in the byte stream, never written to disk. */
  readonly padding: boolean;
}

/** A BEP 47 symlink entry: paths are below the torrent's folder, sanitized like file paths. */
export interface TorrentSymlink {
  readonly path: readonly string[];
  readonly originalPath: readonly string[];
  /** `symlink path`, sanitized (relative to the torrent's folder). */
  readonly target: readonly string[];
}

/** Whether parsing changed a file's path to make it safe. */
export function isRenamed(f: Pick<TorrentFile, 'path' | 'originalPath'>): boolean {
  if (f.originalPath === undefined) return false;
  const original = f.originalPath;
  return f.path.length !== original.length || f.path.some((c, i) => c !== original[i]);
}

/**
 * A parsed and validated v1 torrent. Only parseTorrent() (and torrentFromInfo()) build one,
 * so every consumer can rely on the path and geometry checks having run.
 */
export interface Torrent {
  /** SHA-1 of the info dict exactly as it stood in the input. */
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** The raw bytes of the info dict (served to peers by BEP 9, hashed for infoHash). */
  readonly infoBytes: Buffer;
  /** Safe name: the file (single-file) or folder (multi-file) created under the output folder. */
  readonly name: string;
  /** `name.utf-8` or `name` as the torrent states it; '' when it has none. Set by parseTorrent. */
  readonly originalName?: string;
  readonly pieceLength: number;
  /** 20-byte SHA-1 of each piece. */
  readonly pieces: readonly Buffer[];
  /** Total bytes, padding included. */
  readonly length: number;
  readonly files: readonly TorrentFile[];
  /**
   * BEP 47 symlinks (attr `l`). They hold no bytes of the payload (not in `files`, which keeps
   * offsets and piece geometry) and pytor does not create them.
   */
  readonly symlinks?: readonly TorrentSymlink[];
  /** What parsing repaired or left out, one line each, for the CLI to print on stderr. */
  readonly warnings?: readonly string[];
  /** True when the info dict has `files` (content goes under OUT/<name>/). */
  readonly multiFile: boolean;
  readonly announce: string | undefined;
  /** BEP 12 tiers; when the torrent has none but has `announce`, empty. */
  readonly announceList: readonly (readonly string[])[];
  /** BEP 19 web seeds. */
  readonly urlList: readonly string[];
  /** BEP 27. */
  readonly private: boolean;
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
  /** Seconds since the epoch. */
  readonly creationDate: number | undefined;
}

export function pieceCount(t: Pick<Torrent, 'pieces'>): number {
  return t.pieces.length;
}

/** Length of piece `index`: pieceLength for all but the last, which may be shorter. */
export function pieceSize(t: Pick<Torrent, 'pieceLength' | 'length' | 'pieces'>, index: number): number {
  if (index < 0 || index >= t.pieces.length) throw new RangeError(`piece ${index} out of range`);
  if (index < t.pieces.length - 1) return t.pieceLength;
  return t.length - t.pieceLength * (t.pieces.length - 1);
}

/** All tracker URLs in tier order: announce-list when present, else announce. */
export function trackerTiers(t: Pick<Torrent, 'announce' | 'announceList'>): string[][] {
  if (t.announceList.length > 0) return t.announceList.map((tier) => [...tier]);
  return t.announce ? [[t.announce]] : [];
}
