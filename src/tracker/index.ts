// The tracker layer's public face: what the session and the CLI import.
export { announce, scrape } from './announce.js';
export { TrackerTiers, shuffle, type AnnounceFn } from './tiers.js';
export { makePeerId, makeKey, PEER_ID_PREFIX } from './peer-id.js';
export { TrackerError, type TrackerErrorCode } from './errors.js';
export { formatPeer, MAX_PEERS_PER_REPLY, type TrackerPeer } from './compact.js';
export { scrapeUrlFor } from './http-codec.js';
export type { AnnounceParams, AnnounceResult, RequestOptions, ScrapeCounts } from './types.js';
