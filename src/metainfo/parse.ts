import { createHash } from 'node:crypto';
import { BDict, decode, decodePrefix, isBytes, isDict, isList, type BValue, type NonCanonical } from '../bencode/index.js';
import { MetainfoError, UnsupportedTorrentError } from './errors.js';
import { MAX_PATH_DEPTH } from './path-safety.js';
import { decodeName, REPLACEMENT, resolveCollisions, sanitizeComponent, sanitizePath, statedName } from './sanitize.js';
import { isRenamed, type Torrent, type TorrentFile, type TorrentSymlink } from './types.js';

/** Pieces are held whole in memory while they download; bigger ones are refused. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
export const MAX_FILES = 1_000_000;
const utf8 = new TextDecoder('utf-8');

/**
 * Parses and validates a whole .torrent file. Throws BencodeError, MetainfoError or
 * UnsupportedTorrentError (v2-only). Bytes after the top-level dictionary are ignored with a
 * warning (libtorrent, Transmission and aria2 ignore them too). Non-canonical bencode (leading
 * zeros, duplicate keys) is read the way libtorrent reads it, with a warning: both libtorrent and
 * Transmission open such files. The info-hash is still the SHA-1 of the info dict's bytes as
 * they stand in the file, which is what libtorrent hashes.
 */
export function parseTorrent(bytes: Uint8Array): Torrent {
  const { value: root, end, nonCanonical } = decodePrefix(bytes, 0, { lenient: true });
  if (!isDict(root)) throw new MetainfoError('', 'top level is not a dictionary');
  const info = root.get('info');
  if (!isDict(info)) throw new MetainfoError('info', info === undefined ? 'is missing' : 'is not a dictionary');
  const warnings = (nonCanonical ?? []).map(nonCanonicalWarning);
  if (end < bytes.length) {
    const extra = bytes.length - end;
    warnings.push(`ignored ${extra} byte${extra === 1 ? '' : 's'} after the end of the torrent's top-level dictionary`);
  }
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buildTorrent(info, raw.subarray(info.span.start, info.span.end), root, warnings);
}

function nonCanonicalWarning(n: NonCanonical): string {
  const what =
    n.kind === 'leading-zero-integer'
      ? 'leading zero in an integer'
      : n.kind === 'leading-zero-length'
        ? 'leading zero in a string length'
        : `duplicate dictionary key "${n.key ?? ''}" (the first one is used)`;
  const more = n.count > 1 ? ` (and ${n.count - 1} more)` : '';
  return `non-canonical bencode: ${what} at byte ${n.at}${more}; read as libtorrent does`;
}

/**
 * Builds a Torrent from a bare info dict (as fetched with BEP 9 metadata exchange),
 * with trackers taken from elsewhere (a magnet link). Strict: no trailing bytes.
 */
export function torrentFromInfo(infoBytes: Uint8Array, trackers: readonly string[] = []): Torrent {
  const info = decode(infoBytes);
  if (!isDict(info)) throw new MetainfoError('info', 'is not a dictionary');
  const raw = Buffer.from(infoBytes.buffer, infoBytes.byteOffset, infoBytes.byteLength);
  const t = buildTorrent(info, raw, undefined, []);
  return { ...t, announce: trackers[0], announceList: trackers.length > 1 ? trackers.map((u) => [u]) : [] };
}

function buildTorrent(info: BDict, infoBytes: Buffer, root: BDict | undefined, warnings: string[]): Torrent {
  const infoHash = createHash('sha1').update(infoBytes).digest();
  const infoHashHex = infoHash.toString('hex');
  const piecesValue = info.get('pieces');
  if (piecesValue === undefined && info.get('meta version') === 2) {
    throw new UnsupportedTorrentError('v2-only torrents are not supported yet');
  }

  const nameBytes = preferUtf8(info, 'name', 'info.name');

  const pieceLength = requireInteger(info.get('piece length'), 'info.piece length');
  if (pieceLength <= 0) throw new MetainfoError('info.piece length', `${pieceLength} is not positive`);
  if (pieceLength > MAX_PIECE_LENGTH) {
    throw new MetainfoError('info.piece length', `${pieceLength} is larger than ${MAX_PIECE_LENGTH}`);
  }

  if (!isBytes(piecesValue)) {
    throw new MetainfoError('info.pieces', piecesValue === undefined ? 'is missing' : 'is not a byte string');
  }
  if (piecesValue.length % 20 !== 0) {
    throw new MetainfoError('info.pieces', `length ${piecesValue.length} is not a multiple of 20`);
  }

  const { name, files, symlinks, multiFile } = readFiles(info, nameBytes, infoHashHex, warnings);
  const length = files.reduce((sum, f) => sum + f.length, 0);
  if (!Number.isSafeInteger(length)) throw new MetainfoError('info', 'total length is too large');
  if (length === 0) throw new MetainfoError('info', 'holds no data (total length 0)');

  const pieceCount = piecesValue.length / 20;
  // Checked by exact products (pieceCount is bounded by the input size, pieceLength by
  // MAX_PIECE_LENGTH, so both stay far below 2^53), not by a rounded float quotient.
  const expected = Math.ceil(length / pieceLength);
  if (pieceCount * pieceLength < length || (pieceCount - 1) * pieceLength >= length) {
    throw new MetainfoError(
      'info.pieces',
      `holds ${pieceCount} hashes but ${length} bytes in pieces of ${pieceLength} need ${expected}`,
    );
  }
  const pieces: Buffer[] = [];
  for (let i = 0; i < pieceCount; i++) pieces.push(piecesValue.subarray(i * 20, i * 20 + 20));

  const originalName = nameBytes ? statedName(nameBytes) : '';
  warnings.push(...sanitizeWarnings(name, originalName, multiFile, files, symlinks));
  return {
    infoHash,
    infoHashHex,
    infoBytes,
    name,
    originalName,
    pieceLength,
    pieces,
    length,
    files,
    symlinks,
    warnings,
    multiFile,
    private: info.get('private') === 1,
    ...readOuter(root),
  };
}

interface FileList {
  name: string;
  files: TorrentFile[];
  symlinks: TorrentSymlink[];
  multiFile: boolean;
}

function readFiles(info: BDict, nameBytes: Buffer | undefined, infoHashHex: string, warnings: string[]): FileList {
  const list = info.get('files');
  let single = info.get('length');
  if (list !== undefined && single !== undefined) {
    // libtorrent, Transmission and aria2 all read such a torrent by its file list.
    warnings.push('the info dict has both "length" and "files"; using "files"');
    single = undefined;
  }
  if (list === undefined) {
    if (single === undefined) throw new MetainfoError('info', 'has neither "length" nor "files"');
    // A single file has no other name to fall back on: its name is the file's name.
    if (nameBytes === undefined) throw new MetainfoError('info.name', 'is missing');
    const name = sanitizeComponent(decodeName(nameBytes));
    if (name === '') throw new MetainfoError('info.name', `${JSON.stringify(statedName(nameBytes))} leaves no file name`);
    const length = requireInteger(single, 'info.length');
    if (length < 0) throw new MetainfoError('info.length', `${length} is negative`);
    const file = { path: [name], originalPath: [statedName(nameBytes)], length, offset: 0, padding: false };
    return { name, files: [file], symlinks: [], multiFile: false };
  }
  if (!isList(list)) throw new MetainfoError('info.files', 'is not a list');
  if (list.length === 0) throw new MetainfoError('info.files', 'is empty');
  if (list.length > MAX_FILES) throw new MetainfoError('info.files', `has more than ${MAX_FILES} entries`);
  // The folder's name: when the torrent has none (or only an unsafe one), its info-hash.
  const name = (nameBytes && sanitizeComponent(decodeName(nameBytes))) || infoHashHex;

  const entries: { path: string[]; originalPath: string[]; length: number; padding: boolean }[] = [];
  const symlinks: TorrentSymlink[] = [];
  let offset = 0;
  list.forEach((entry, i) => {
    const field = `info.files[${i}]`;
    if (!isDict(entry)) throw new MetainfoError(field, 'is not a dictionary');
    const attr = entry.get('attr');
    const attrs = isBytes(attr) ? attr : Buffer.alloc(0);
    let padding = attrs.includes(0x70 /* 'p' */);
    // A symlink whose target is missing or not a list of strings is read as an empty file, as
    // libtorrent reads it: a broken link entry is no reason to refuse the data beside it.
    const targetValue = entry.get('symlink path');
    const target = attrs.includes(0x6c /* 'l' */) && isList(targetValue) && targetValue.every(isBytes)
      ? readComponents(entry, 'symlink path', `${field}.symlink path`)
      : undefined;
    const rawPath = readComponents(entry, 'path', `${field}.path`);
    if (target !== undefined) {
      // BEP 47: a symlink holds no payload bytes, whatever its "length" says (libtorrent agrees).
      if (rawPath === undefined) throw new MetainfoError(`${field}.path`, 'is missing');
      symlinks.push({ ...safePath(rawPath), target: sanitizePath(target.map(decodeName)) });
      return;
    }
    const length = attrs.includes(0x6c) ? 0 : requireInteger(entry.get('length'), `${field}.length`);
    if (length < 0) throw new MetainfoError(`${field}.length`, `${length} is negative`);
    if (rawPath === undefined && !padding) throw new MetainfoError(`${field}.path`, 'is missing');
    const { path, originalPath } = rawPath ? safePath(rawPath) : { path: ['.pad', String(length)], originalPath: [] };
    // BitComet's pad files predate BEP 47's attr: libtorrent knows them by name, so does pytor.
    if (originalPath.some((c) => c.startsWith('_____padding_file_'))) padding = true;
    entries.push({ path, originalPath, length, padding });
  });

  // Pad files never reach the disk, so only data files need distinct names.
  const data = entries.filter((e) => !e.padding);
  const distinct = resolveCollisions(data.map((e) => e.path));
  data.forEach((e, i) => {
    e.path = distinct[i]!;
  });
  const files: TorrentFile[] = entries.map((e) => {
    const file = { ...e, offset };
    offset += e.length;
    return file;
  });
  return { name, files, symlinks, multiFile: true };
}

/** The safe path of a stated one; a path with nothing left is `_` (as libtorrent names it). */
function safePath(raw: Buffer[]): { path: string[]; originalPath: string[] } {
  const path = sanitizePath(raw.map(decodeName));
  return { path: path.length > 0 ? path : [REPLACEMENT], originalPath: raw.map(statedName) };
}

/**
 * A list of byte-string components, `<key>.utf-8` preferred when it is one; undefined when
 * neither is there or the list is empty. Wrong types are structural faults.
 */
function readComponents(entry: BDict, key: string, field: string): Buffer[] | undefined {
  const utf8Path = entry.get(`${key}.utf-8`);
  const value = isList(utf8Path) && utf8Path.length > 0 && utf8Path.every(isBytes) ? utf8Path : entry.get(key);
  if (value === undefined) return undefined;
  if (!isList(value)) throw new MetainfoError(field, 'is not a list');
  if (value.length === 0) return undefined;
  if (value.length > MAX_PATH_DEPTH) throw new MetainfoError(field, `is deeper than ${MAX_PATH_DEPTH}`);
  return value.map((c, j) => {
    if (!isBytes(c)) throw new MetainfoError(`${field}[${j}]`, 'is not a byte string');
    return c;
  });
}

/** At most this many files are named one by one in the warnings; the rest are counted. */
const MAX_NAMED_IN_WARNINGS = 5;

function sanitizeWarnings(
  name: string,
  originalName: string,
  multiFile: boolean,
  files: readonly TorrentFile[],
  symlinks: readonly TorrentSymlink[],
): string[] {
  const out: string[] = [];
  if (originalName === '') out.push(`the torrent has no name; using its info-hash ${name}`);
  else if (name !== originalName) out.push(`the torrent's name ${JSON.stringify(originalName)} is unsafe on disk; using ${JSON.stringify(name)}`);
  const renamed = files.filter((f) => !f.padding && isRenamed(f)).length;
  if (renamed > 0 && multiFile) {
    out.push(`${renamed} file name${renamed === 1 ? ' was' : 's were'} changed to be safe on disk (pytor info shows which)`);
  }
  symlinks.slice(0, MAX_NAMED_IN_WARNINGS).forEach((l) => {
    out.push(`symlink ${JSON.stringify(l.path.join('/'))} -> ${JSON.stringify(l.target.join('/'))} is not created (it holds no data)`);
  });
  if (symlinks.length > MAX_NAMED_IN_WARNINGS) out.push(`${symlinks.length - MAX_NAMED_IN_WARNINGS} more symlinks are not created`);
  return out;
}

function readOuter(root: BDict | undefined): Pick<
  Torrent,
  'announce' | 'announceList' | 'urlList' | 'comment' | 'createdBy' | 'creationDate'
> {
  if (!root) return { announce: undefined, announceList: [], urlList: [], comment: undefined, createdBy: undefined, creationDate: undefined };
  const announce = text(root.get('announce'));
  const creationDate = root.get('creation date');
  return {
    announce: announce || undefined,
    announceList: readAnnounceList(root.get('announce-list')),
    urlList: readUrlList(root.get('url-list')),
    // Outside the info dict only informational text: a malformed one is ignored (as libtorrent
    // does), not a reason to refuse a torrent whose content is valid.
    comment: optionalText(root, 'comment'),
    createdBy: optionalText(root, 'created by'),
    creationDate: typeof creationDate === 'number' ? creationDate : undefined,
  };
}

/** Tiers of tracker URLs; entries that are not strings and empty tiers are dropped, as clients do. */
function readAnnounceList(value: BValue | undefined): string[][] {
  if (!isList(value)) return [];
  const tiers: string[][] = [];
  for (const tier of value) {
    if (!isList(tier)) continue;
    const urls = tier.map(text).filter((u): u is string => !!u);
    if (urls.length > 0) tiers.push(urls);
  }
  return tiers;
}

function readUrlList(value: BValue | undefined): string[] {
  if (isBytes(value)) return value.length > 0 ? [utf8.decode(value)] : [];
  if (!isList(value)) return [];
  return value.map(text).filter((u): u is string => !!u);
}

function text(value: BValue | undefined): string | undefined {
  return isBytes(value) ? utf8.decode(value) : undefined;
}

function optionalText(dict: BDict, key: string): string | undefined {
  return text(dict.get(`${key}.utf-8`)) ?? text(dict.get(key));
}

/** `<key>.utf-8` when it is a byte string, else `<key>`; undefined when neither is there. */
function preferUtf8(dict: BDict, key: string, field: string): Buffer | undefined {
  const utf8Value = dict.get(`${key}.utf-8`);
  if (isBytes(utf8Value)) return utf8Value;
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (!isBytes(value)) throw new MetainfoError(field, 'is not a byte string');
  return value;
}

function requireInteger(value: BValue | undefined, field: string): number {
  if (value === undefined) throw new MetainfoError(field, 'is missing');
  if (typeof value === 'bigint') throw new MetainfoError(field, `${value} is out of range`);
  if (typeof value !== 'number') throw new MetainfoError(field, 'is not an integer');
  return value;
}
