export { parseTorrent, torrentFromInfo, MAX_PIECE_LENGTH } from './parse.js';
export { MetainfoError, UnsupportedTorrentError } from './errors.js';
export { checkPathComponent } from './path-safety.js';
export { pieceCount, pieceSize, trackerTiers, type Torrent, type TorrentFile } from './types.js';
