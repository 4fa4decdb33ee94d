import { createHash } from 'node:crypto';
import type { Torrent } from '../metainfo/types.js';

/** True when `data` hashes (SHA-1) to the torrent's hash for piece `index`. */
export function verifyPiece(torrent: Pick<Torrent, 'pieces'>, index: number, data: Uint8Array): boolean {
  const expected = torrent.pieces[index];
  if (!expected) return false;
  return createHash('sha1').update(data).digest().equals(expected);
}
