import { open } from 'node:fs/promises';
import { parseTorrent, type Torrent } from '../metainfo/index.js';
import { safeText } from './terminal.js';

/** Real .torrent files stay far below this (a 1 TiB torrent in 1 MiB pieces is 20 MiB of hashes). */
export const MAX_TORRENT_FILE_BYTES = 64 * 1024 * 1024;

/** Something given on the command line could not be read as a torrent. */
export class TorrentInputError extends Error {
  readonly code: string;
  constructor(
    readonly source: string,
    message: string,
    code: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'TorrentInputError';
    this.code = code;
  }
}

/**
 * Reads and parses a .torrent file; every failure names the file. What parsing repaired (names
 * made safe, symlinks left out, bytes after the end) is told on `warn`, one line each: stderr by
 * default, so every command (info, download, seed, peers) says it the same way.
 */
export async function loadTorrent(path: string, warn: (line: string) => void = warnOnStderr): Promise<Torrent> {
  const bytes = await readBounded(path, MAX_TORRENT_FILE_BYTES);
  let torrent: Torrent;
  try {
    torrent = parseTorrent(bytes);
  } catch (err) {
    throw wrap(path, err);
  }
  for (const w of torrent.warnings ?? []) warn(`pytor: warning: ${safeText(path)}: ${safeText(w)}`);
  return torrent;
}

function warnOnStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function readBounded(path: string, max: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw wrap(path, err);
  }
  try {
    const { size } = await handle.stat();
    if (size > max) throw new TorrentInputError(path, `file is ${size} bytes, more than the ${max} a .torrent may have`, 'ETOOLARGE');
    // Read until end of file, at most max + 1 bytes, whatever stat said: pipes (`<(cat x)`) and
    // /proc files report size 0, and a file may grow. Sequential reads (position null), so
    // pipes work too.
    const chunks: Buffer[] = [];
    let total = 0;
    let chunkSize = Math.min(Math.max(size + 1, 64 * 1024), max + 1);
    while (total <= max) {
      const chunk = Buffer.alloc(Math.min(chunkSize, max + 1 - total));
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      chunks.push(chunk.subarray(0, filled));
      total += filled;
      if (filled < chunk.length) break; // end of file
      chunkSize = Math.min(chunkSize * 2, max + 1);
    }
    if (total > max) throw new TorrentInputError(path, `file is larger than ${max} bytes`, 'ETOOLARGE');
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (err) {
    throw wrap(path, err);
  } finally {
    await handle.close();
  }
}

function wrap(path: string, err: unknown): Error {
  if (err instanceof TorrentInputError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason =
    e.code === 'ENOENT' ? 'no such file'
    : e.code === 'EISDIR' ? 'is a folder, not a .torrent file'
    : e.code === 'EACCES' ? 'permission denied'
    : (e.message ?? String(err));
  const wrapped = new TorrentInputError(path, reason, e.code ?? 'EINPUT');
  wrapped.cause = err;
  return wrapped;
}
