// Reads the name and file list of a .torrent in the browser, so the add dialog can offer the
// files before anything is sent. Only what the dialog shows is decoded; the daemon parses the
// whole file again (and is the judge of its validity). Bounded: size, depth, list lengths.

export interface TorrentFileEntry {
  /** '/'-joined path inside the torrent (without the torrent's folder). */
  readonly path: string;
  readonly length: number;
  /** A BEP 47 pad file: counted in the indices, never shown. */
  readonly padding: boolean;
}

export interface TorrentFileList {
  readonly name: string;
  /** In the torrent's order: the indices are the ones files-unwanted names. */
  readonly files: readonly TorrentFileEntry[];
}

export const MAX_TORRENT_FILE_BYTES = 12 * 1024 * 1024;
const MAX_DEPTH = 32;
const MAX_ITEMS = 1_000_000;

export class TorrentFileError extends Error {
  readonly code = 'TORRENT_FILE';
}

type Value = number | Uint8Array | Value[] | Map<string, Value>;

/** A small bencode reader over bytes; dictionary keys become latin1 strings of their bytes. */
function decode(bytes: Uint8Array): Value {
  let pos = 0;
  let items = 0;
  const latin1 = (a: number, b: number) => {
    let s = '';
    for (let i = a; i < b; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  };
  const fail = (what: string): never => {
    throw new TorrentFileError(`not a .torrent file: ${what} at byte ${pos}`);
  };
  const readInt = (end: number): number => {
    const text = latin1(pos, end);
    if (!/^-?\d{1,16}$/.test(text)) fail('bad number');
    pos = end + 1;
    return Number(text);
  };
  const value = (depth: number): Value => {
    if (depth > MAX_DEPTH) fail('nested too deep');
    if (++items > MAX_ITEMS) fail('too many items');
    const c = bytes[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === 0x69 /* i */) {
      pos++;
      const end = bytes.indexOf(0x65, pos);
      if (end < 0) fail('unterminated number');
      return readInt(end);
    }
    if (c === 0x6c /* l */ || c === 0x64 /* d */) {
      pos++;
      const list: Value[] = [];
      const dict = new Map<string, Value>();
      while (bytes[pos] !== 0x65 /* e */) {
        if (pos >= bytes.length) fail('unexpected end');
        if (c === 0x6c) list.push(value(depth + 1));
        else {
          const key = value(depth + 1);
          if (!(key instanceof Uint8Array)) fail('dictionary key is not a string');
          const k = key as Uint8Array;
          const keyStart = pos - k.length;
          dict.set(latin1(keyStart, pos), value(depth + 1));
        }
      }
      pos++;
      return c === 0x6c ? list : dict;
    }
    if (c >= 0x30 && c <= 0x39) {
      const colon = bytes.indexOf(0x3a, pos);
      if (colon < 0 || colon - pos > 10) fail('bad string length');
      const len = readInt(colon);
      if (len < 0 || pos + len > bytes.length) fail('string past the end');
      const s = bytes.subarray(pos, pos + len);
      pos += len;
      return s;
    }
    return fail('unknown value');
  };
  return value(0);
}

const utf8 = (v: Value | undefined): string | undefined => (v instanceof Uint8Array ? new TextDecoder('utf-8').decode(v) : undefined);

/** The name and files of a v1 (or hybrid) .torrent. Throws TorrentFileError for anything else. */
export function readTorrentFiles(bytes: Uint8Array): TorrentFileList {
  if (bytes.length > MAX_TORRENT_FILE_BYTES) throw new TorrentFileError(`.torrent larger than ${MAX_TORRENT_FILE_BYTES} bytes`);
  const root = decode(bytes);
  if (!(root instanceof Map)) throw new TorrentFileError('not a .torrent file: not a dictionary');
  const info = root.get('info');
  if (!(info instanceof Map)) throw new TorrentFileError('no info dictionary (a v1 .torrent is needed)');
  const name = utf8(info.get('name.utf-8')) ?? utf8(info.get('name')) ?? '';
  const length = info.get('length');
  if (typeof length === 'number') return { name, files: [{ path: name, length, padding: false }] };
  const list = info.get('files');
  if (!Array.isArray(list)) throw new TorrentFileError('info has neither length nor files');
  const files = list.map((entry, i): TorrentFileEntry => {
    if (!(entry instanceof Map)) throw new TorrentFileError(`file ${i} is not a dictionary`);
    const len = entry.get('length');
    const attr = utf8(entry.get('attr')) ?? '';
    const parts = entry.get('path.utf-8') ?? entry.get('path');
    const path = Array.isArray(parts) ? parts.map((p) => utf8(p) ?? '').join('/') : '';
    return { path, length: typeof len === 'number' ? len : 0, padding: attr.includes('p') || /^_____padding_file_/.test(path.split('/').pop() ?? '') };
  });
  return { name, files };
}
