export { parseMagnet, formatMagnet, MAX_MAGNET_LENGTH, MAX_MAGNET_PARAMS, MAX_MAGNET_TRACKERS, MAX_MAGNET_PEERS, MAX_MAGNET_WEB_SEEDS, MAX_SELECT_ONLY, type Magnet, type MagnetInput, type MagnetPeer } from './magnet.js';
export { MagnetError } from './errors.js';
export { decodeBase32, encodeBase32 } from './base32.js';
