import { createHash, webcrypto } from 'node:crypto';
import type { Torrent } from '../metainfo/types.js';

/** True when `data` hashes (SHA-1) to the torrent's hash for piece `index`. */
export function verifyPiece(torrent: Pick<Torrent, 'pieces'>, index: number, data: Uint8Array): boolean {
  const expected = torrent.pieces[index];
  if (!expected) return false;
  return createHash('sha1').update(data).digest().equals(expected);
}

/**
 * The same check on libuv's thread pool (WebCrypto's digest takes a copy of `data`, so the
 * caller may reuse it at once): several pieces hash at once, on as many cores as the pool has
 * threads.
 */
export async function verifyPieceOffThread(torrent: Pick<Torrent, 'pieces'>, index: number, data: Uint8Array): Promise<boolean> {
  const expected = torrent.pieces[index];
  if (!expected) return false;
  const digest = Buffer.from(await webcrypto.subtle.digest('SHA-1', data));
  return digest.equals(expected);
}
