import { createHash } from 'node:crypto';
import { BDict, decode, isBytes, isDict, isList, type BValue } from '../bencode/index.js';
import { MetainfoError, UnsupportedTorrentError } from './errors.js';
import { checkPathComponent, MAX_PATH_DEPTH } from './path-safety.js';
import type { Torrent, TorrentFile } from './types.js';

/** Pieces are held whole in memory while they download; bigger ones are refused. */
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
export const MAX_FILES = 1_000_000;
const utf8 = new TextDecoder('utf-8');

/** Parses and validates a whole .torrent file. Throws BencodeError, MetainfoError or UnsupportedTorrentError (v2-only). */
export function parseTorrent(bytes: Uint8Array): Torrent {
  const root = decode(bytes);
  if (!isDict(root)) throw new MetainfoError('', 'top level is not a dictionary');
  const info = root.get('info');
  if (!isDict(info)) throw new MetainfoError('info', info === undefined ? 'is missing' : 'is not a dictionary');
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buildTorrent(info, raw.subarray(info.span.start, info.span.end), root);
}

/**
 * Builds a Torrent from a bare info dict (as fetched with BEP 9 metadata exchange),
 * with trackers taken from elsewhere (a magnet link).
 */
export function torrentFromInfo(infoBytes: Uint8Array, trackers: readonly string[] = []): Torrent {
  const info = decode(infoBytes);
  if (!isDict(info)) throw new MetainfoError('info', 'is not a dictionary');
  const raw = Buffer.from(infoBytes.buffer, infoBytes.byteOffset, infoBytes.byteLength);
  const t = buildTorrent(info, raw, undefined);
  return { ...t, announce: trackers[0], announceList: trackers.length > 1 ? trackers.map((u) => [u]) : [] };
}

function buildTorrent(info: BDict, infoBytes: Buffer, root: BDict | undefined): Torrent {
  const infoHash = createHash('sha1').update(infoBytes).digest();
  const piecesValue = info.get('pieces');
  if (piecesValue === undefined && info.get('meta version') === 2) {
    throw new UnsupportedTorrentError('v2-only torrents are not supported yet');
  }

  const name = preferUtf8(info, 'name', 'info.name');
  if (name === undefined) throw new MetainfoError('info.name', 'is missing');
  checkPathComponent(name, 'info.name');

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

  const { files, multiFile } = readFiles(info, name);
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

  return {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    infoBytes,
    name,
    pieceLength,
    pieces,
    length,
    files,
    multiFile,
    private: info.get('private') === 1,
    ...readOuter(root),
  };
}

function readFiles(info: BDict, name: string): { files: TorrentFile[]; multiFile: boolean } {
  const list = info.get('files');
  const single = info.get('length');
  if (list !== undefined && single !== undefined) {
    throw new MetainfoError('info', 'has both "length" and "files"');
  }
  if (list === undefined) {
    if (single === undefined) throw new MetainfoError('info', 'has neither "length" nor "files"');
    const length = requireInteger(single, 'info.length');
    if (length < 0) throw new MetainfoError('info.length', `${length} is negative`);
    return { files: [{ path: [name], length, offset: 0, padding: false }], multiFile: false };
  }
  if (!isList(list)) throw new MetainfoError('info.files', 'is not a list');
  if (list.length === 0) throw new MetainfoError('info.files', 'is empty');
  if (list.length > MAX_FILES) throw new MetainfoError('info.files', `has more than ${MAX_FILES} entries`);

  const files: TorrentFile[] = [];
  const seen = new Set<string>();
  let offset = 0;
  list.forEach((entry, i) => {
    const field = `info.files[${i}]`;
    if (!isDict(entry)) throw new MetainfoError(field, 'is not a dictionary');
    const length = requireInteger(entry.get('length'), `${field}.length`);
    if (length < 0) throw new MetainfoError(`${field}.length`, `${length} is negative`);
    const path = readPath(entry, `${field}.path`);
    const attr = entry.get('attr');
    const padding = isBytes(attr) && attr.includes(0x70 /* 'p' */);
    // Pad files are never written, so two of them may share a name (".pad/16384").
    if (!padding) {
      const key = path.join('/');
      if (seen.has(key)) throw new MetainfoError(`${field}.path`, `"${key}" appears twice`);
      seen.add(key);
    }
    files.push({ path, length, offset, padding });
    offset += length;
  });
  checkNoFileIsAFolder(files);
  return { files, multiFile: true };
}

/** `a` and `a/b` cannot both be files: one would have to be a folder. */
function checkNoFileIsAFolder(files: readonly TorrentFile[]): void {
  const folders = new Set<string>();
  for (const f of files) {
    if (f.padding) continue;
    for (let depth = 1; depth < f.path.length; depth++) folders.add(f.path.slice(0, depth).join('/'));
  }
  for (const f of files) {
    if (!f.padding && folders.has(f.path.join('/'))) {
      throw new MetainfoError('info.files', `"${f.path.join('/')}" is both a file and a folder`);
    }
  }
}

function readPath(entry: BDict, field: string): string[] {
  const utf8Path = entry.get('path.utf-8');
  const value = isList(utf8Path) && utf8Path.length > 0 && utf8Path.every(isBytes) ? utf8Path : entry.get('path');
  if (!isList(value)) throw new MetainfoError(field, value === undefined ? 'is missing' : 'is not a list');
  if (value.length === 0) throw new MetainfoError(field, 'is empty');
  if (value.length > MAX_PATH_DEPTH) throw new MetainfoError(field, `is deeper than ${MAX_PATH_DEPTH}`);
  return value.map((c, j) => {
    if (!isBytes(c)) throw new MetainfoError(`${field}[${j}]`, 'is not a byte string');
    const component = utf8.decode(c);
    checkPathComponent(component, field);
    return component;
  });
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

function preferUtf8(dict: BDict, key: string, field: string): string | undefined {
  const utf8Value = dict.get(`${key}.utf-8`);
  if (isBytes(utf8Value)) return utf8.decode(utf8Value);
  const value = dict.get(key);
  if (value === undefined) return undefined;
  if (!isBytes(value)) throw new MetainfoError(field, 'is not a byte string');
  return utf8.decode(value);
}

function requireInteger(value: BValue | undefined, field: string): number {
  if (value === undefined) throw new MetainfoError(field, 'is missing');
  if (typeof value === 'bigint') throw new MetainfoError(field, `${value} is out of range`);
  if (typeof value !== 'number') throw new MetainfoError(field, 'is not an integer');
  return value;
}
