// torrent-add's `filename` / `metainfo` into an AddSource. A path is opened here, checked to
// be a regular file named *.torrent of bounded size, and read; the engine only ever gets bytes,
// a magnet link or a URL, never a path to open on a client's say-so.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { RpcArgumentError } from './errors.js';
import type { AddSource } from './engine.js';

/** The largest .torrent pytor reads from a path or takes as `metainfo` (16 MiB, the body bound too). */
export const MAX_TORRENT_FILE_BYTES = 16 * 1024 * 1024;
/** Magnet links longer than this are refused before parsing (the magnet layer's own bound). */
export const MAX_MAGNET_URI = 64 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `metainfo`: base64 (whitespace and line breaks tolerated, as some encoders wrap lines). */
export function decodeMetainfo(text: string): Uint8Array {
  const compact = text.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0) throw new RpcArgumentError('metainfo', 'is empty');
  if (!BASE64.test(compact) && !/^[A-Za-z0-9_-]*={0,2}$/.test(compact)) throw new RpcArgumentError('metainfo', 'is not base64');
  const bytes = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64');
  if (bytes.length > MAX_TORRENT_FILE_BYTES) throw new RpcArgumentError('metainfo', `larger than ${MAX_TORRENT_FILE_BYTES} bytes`);
  return bytes;
}

export type FilenameKind = { kind: 'magnet'; uri: string } | { kind: 'url'; url: string } | { kind: 'path'; path: string };

/** What a `filename` names, by its shape alone. Pure. */
export function classifyFilename(filename: string): FilenameKind {
  const trimmed = filename.trim();
  if (/^magnet:\?/i.test(trimmed)) {
    if (trimmed.length > MAX_MAGNET_URI) throw new RpcArgumentError('filename', `magnet link longer than ${MAX_MAGNET_URI} characters`);
    return { kind: 'magnet', uri: trimmed };
  }
  if (/^https?:\/\//i.test(trimmed)) {
    try {
      new URL(trimmed);
    } catch {
      throw new RpcArgumentError('filename', 'is not a valid URL');
    }
    return { kind: 'url', url: trimmed };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new RpcArgumentError('filename', 'only http, https and magnet links, or a path to a .torrent file, are accepted');
  if (filename.includes('\0')) throw new RpcArgumentError('filename', 'contains a NUL byte');
  if (!filename.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(filename)) throw new RpcArgumentError('filename', 'a path must be absolute');
  if (!/\.torrent$/i.test(filename)) throw new RpcArgumentError('filename', 'a path must name a .torrent file');
  return { kind: 'path', path: filename };
}

/**
 * Reads a .torrent named by path: opened non-blocking (a FIFO cannot hang us), then the open
 * descriptor is checked to be a regular file no larger than the bound before a byte is read.
 */
export async function readTorrentFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new RpcArgumentError('filename', `cannot open ${JSON.stringify(path)} (${code})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new RpcArgumentError('filename', `${JSON.stringify(path)} is not a regular file`);
    if (st.size > MAX_TORRENT_FILE_BYTES) throw new RpcArgumentError('filename', `${JSON.stringify(path)} is larger than ${MAX_TORRENT_FILE_BYTES} bytes`);
    const bytes = Buffer.alloc(st.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** The AddSource for a torrent-add request's `filename` or `metainfo` (metainfo wins when both are given). */
export async function addSource(filename: string | undefined, metainfo: string | undefined): Promise<AddSource> {
  if (metainfo !== undefined) return { kind: 'metainfo', bytes: decodeMetainfo(metainfo) };
  if (filename === undefined) throw new RpcArgumentError('filename', 'no filename or metainfo specified');
  const what = classifyFilename(filename);
  if (what.kind === 'magnet') return { kind: 'magnet', uri: what.uri };
  if (what.kind === 'url') return { kind: 'url', url: what.url };
  return { kind: 'metainfo', bytes: await readTorrentFile(what.path), path: what.path };
}
