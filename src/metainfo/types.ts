/** One file of a torrent, in the order the torrent lists them. */
export interface TorrentFile {
  /** Path components below the torrent's folder; for a single-file torrent, [name]. Validated safe. */
  readonly path: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the torrent's concatenated byte stream. */
  readonly offset: number;
  /** BEP 47 padding file: counted in the byte stream, never written to disk. */
  readonly padding: boolean;
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
  readonly name: string;
  readonly pieceLength: number;
  /** 20-byte SHA-1 of each piece. */
  readonly pieces: readonly Buffer[];
  /** Total bytes, padding included. */
  readonly length: number;
  readonly files: readonly TorrentFile[];
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
