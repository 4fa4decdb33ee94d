export { parseTorrent, torrentFromInfo, MAX_PIECE_LENGTH } from './parse.js';
export { MetainfoError, UnsupportedTorrentError } from './errors.js';
export { checkPathComponent } from './path-safety.js';
export { isRenamed, pieceCount, pieceSize, trackerTiers, type Torrent, type TorrentFile, type TorrentSymlink } from './types.js';
export { decodeName, MAX_COMPONENT_BYTES, numbered, resolveCollisions, sanitizeComponent, sanitizePath, shortenComponent, splitExtension } from './sanitize.js';
