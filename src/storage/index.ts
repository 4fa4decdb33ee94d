export { StorageError, type StorageErrorCode } from './errors.js';
export { pieceSpans, byteRangeSpans, type FileSpan, type PieceGeometry } from './file-map.js';
export { TorrentStorage, DEFAULT_MAX_OPEN_FILES, type StorageOptions } from './storage.js';
export { verifyPiece } from './verify.js';
export {
  bitfieldHas,
  bitfieldOf,
  decodeResume,
  encodeResume,
  MAX_RESUME_BYTES,
  MISSING_FILE,
  pieceTrust,
  PieceTrust,
  ResumeError,
  type FileStamp,
  type ResumeData,
} from './resume.js';
