import type { Discovery } from '../client/index.js';
import type { MetadataStats } from '../session/metadata.js';
import { formatBytes } from './terminal.js';

/** One line on a magnet link's metadata fetch, so a wait never looks hung. */
export function describeMetadata(s: MetadataStats, d?: Discovery): string {
  const have = s.size === undefined ? 'size unknown' : `${s.piecesHave}/${s.pieceCount} pieces of ${formatBytes(s.size)}`;
  const looking = d ? ` | ${describeDiscovery(d)}` : '';
  return `fetching metadata: ${s.peersConnected} peers connected (${s.peersWithMetadata} with metadata), ${have}${looking}`;
}

/** `DHT 40 nodes, 3 peers | trackers 1/2 answered`: where peers are being looked for. */
export function describeDiscovery(d: Discovery): string {
  const parts: string[] = [];
  if (d.dhtNodes !== undefined) parts.push(`DHT ${d.dhtNodes} nodes, ${d.dhtPeers} peers`);
  if (d.trackers > 0) parts.push(`trackers ${d.trackersAnswered}/${d.trackers} answered`);
  return parts.length > 0 ? parts.join(' | ') : 'no trackers, no DHT';
}
