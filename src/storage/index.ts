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
export {
  parseSelect,
  planSelection,
  selectFiles,
  wantedBytesPerPiece,
  SelectionError,
  type PathPredicate,
  type SelectionPlan,
  type SelectionSpec,
} from './selection.js';
export { PartFile, PartFileError, PART_DIR } from './part-file.js';
