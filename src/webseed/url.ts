// Pure mapping of a piece onto HTTP ranges of a BEP 19 (GetRight-style) web seed.
import type { Torrent } from '../metainfo/types.js';
import { pieceSpans } from '../storage/file-map.js';

export type WebSeedGeometry = Pick<Torrent, 'name' | 'files' | 'multiFile' | 'pieceLength' | 'length' | 'pieces'>;

/** One HTTP range of one file that fills `bufferOffset..+length` of a piece. */
export interface RangeRequest {
  readonly fileIndex: number;
  readonly url: string;
  /** First byte inside the file. */
  readonly start: number;
  readonly length: number;
  /** Where the bytes go in the piece. */
  readonly bufferOffset: number;
  /** The whole file's length: a 200 is acceptable when the range is the whole file. */
  readonly fileLength: number;
}

/** The schemes pytor fetches from; BEP 19 says to ignore the others (ftp:, ...). */
export function isSupportedWebSeed(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The URL of file `fileIndex` on web seed `base` (BEP 19): a single-file torrent's URL is the
 * file itself unless it ends in '/', when the name is added; a multi-file torrent's URL is a
 * folder under which `name/path/...` lie. Each component is percent-encoded, so a name with
 * '?', '#', '%' or spaces cannot change the URL's meaning.
 */
export function fileUrl(base: string, torrent: Pick<Torrent, 'name' | 'files' | 'multiFile'>, fileIndex: number): string {
  const file = torrent.files[fileIndex];
  if (!file) throw new RangeError(`file ${fileIndex} out of range`);
  if (!torrent.multiFile) return base.endsWith('/') ? base + encodeURIComponent(torrent.name) : base;
  const folder = base.endsWith('/') ? base : `${base}/`;
  return folder + [torrent.name, ...file.path].map(encodeURIComponent).join('/');
}

/**
 * The ranges that make up piece `index`, in piece order. BEP 47 pad files are left out: their
 * bytes are zeros, which a zero-filled piece buffer already holds.
 */
export function pieceRanges(base: string, torrent: WebSeedGeometry, index: number): RangeRequest[] {
  return pieceSpans(torrent, index)
    .filter((s) => !s.padding)
    .map((s) => ({
      fileIndex: s.fileIndex,
      url: fileUrl(base, torrent, s.fileIndex),
      start: s.fileOffset,
      length: s.length,
      bufferOffset: s.bufferOffset,
      fileLength: torrent.files[s.fileIndex]!.length,
    }));
}

/**
 * Parses `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`). Returns undefined for
 * anything else, including a range that is not well formed.
 */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (end < start || (total !== undefined && end >= total)) return undefined;
  return { start, end, total };
}
