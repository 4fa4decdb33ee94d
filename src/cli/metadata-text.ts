import type { MetadataStats } from '../session/metadata.js';
import { formatBytes } from './terminal.js';

/** One line on a magnet link's metadata fetch, so a wait never looks hung. */
export function describeMetadata(s: MetadataStats): string {
  const have = s.size === undefined ? 'size unknown' : `${s.piecesHave}/${s.pieceCount} pieces of ${formatBytes(s.size)}`;
  return `fetching metadata: ${s.peersConnected} peers connected (${s.peersWithMetadata} with metadata), ${have}`;
}
