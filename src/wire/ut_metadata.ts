/**
 * BEP 9 ut_metadata: fetching the info dict from peers in 16 KiB pieces.
 * Payload (after the extended id byte): a bencoded dict {msg_type, piece[, total_size]};
 * for `data` the raw piece bytes follow the dict.
 */
import { BencodeError, decodePrefix, encode, isDict, type BValue } from '../bencode/index.js';
import { extensionError, invalidArgument as invalid } from './errors.js';
import { describeValue, type ExtensionDecodeResult } from './bencoded.js';
import { MAX_METADATA_SIZE } from './extension.js';

export const METADATA_PIECE_LENGTH = 16 * 1024;
/** The most metadata pieces there can be under MAX_METADATA_SIZE. */
export const MAX_METADATA_PIECES = Math.ceil(MAX_METADATA_SIZE / METADATA_PIECE_LENGTH);

const MSG_REQUEST = 0;
const MSG_DATA = 1;
const MSG_REJECT = 2;

export type UtMetadataMessage =
  | { readonly type: 'request'; readonly piece: number }
  /** `data` is a view into the payload: copy it into the metadata buffer. */
  | { readonly type: 'data'; readonly piece: number; readonly totalSize: number; readonly data: Buffer }
  | { readonly type: 'reject'; readonly piece: number }
  /** BEP 9: message types we do not know are to be ignored, not treated as errors. */
  | { readonly type: 'unknown'; readonly msgType: number };

export interface UtMetadataDecodeOptions {
  /** The metadata_size the peer announced in its extended handshake: data must agree with it. */
  readonly metadataSize?: number;
}

/** Number of 16 KiB pieces of metadata of `totalSize` bytes. */
export function metadataPieceCount(totalSize: number): number {
  return Math.ceil(totalSize / METADATA_PIECE_LENGTH);
}

/** Length of metadata piece `piece` (all 16 KiB but the last). */
export function metadataPieceLength(totalSize: number, piece: number): number {
  return Math.min(METADATA_PIECE_LENGTH, totalSize - piece * METADATA_PIECE_LENGTH);
}


/** Encodes a ut_metadata payload. Throws on a piece or data length inconsistent with total size. */
export function encodeUtMetadata(msg: Exclude<UtMetadataMessage, { type: 'unknown' }>): Buffer {
  if (!Number.isInteger(msg.piece) || msg.piece < 0 || msg.piece >= MAX_METADATA_PIECES) {
    throw invalid('piece', `${msg.piece} is not in 0..${MAX_METADATA_PIECES - 1}`);
  }
  switch (msg.type) {
    case 'request':
      return encode({ msg_type: MSG_REQUEST, piece: msg.piece });
    case 'reject':
      return encode({ msg_type: MSG_REJECT, piece: msg.piece });
    case 'data': {
      const { totalSize, piece, data } = msg;
      if (!Number.isInteger(totalSize) || totalSize < 1 || totalSize > MAX_METADATA_SIZE) {
        throw invalid('totalSize', `${totalSize} is not in 1..${MAX_METADATA_SIZE}`);
      }
      if (piece >= metadataPieceCount(totalSize)) throw invalid('piece', `${piece} is past the last piece`);
      const expected = metadataPieceLength(totalSize, piece);
      if (data.length !== expected) throw invalid('data', `${data.length} bytes, expected ${expected}`);
      const head = encode({ msg_type: MSG_DATA, piece, total_size: totalSize });
      const out = Buffer.alloc(head.length + data.length);
      head.copy(out, 0);
      out.set(data, head.length);
      return out;
    }
  }
}

/** Decodes a ut_metadata payload. Never throws. */
export function decodeUtMetadata(payload: Buffer, options: UtMetadataDecodeOptions = {}): ExtensionDecodeResult<UtMetadataMessage> {
  const fail = (field: string, reason: string, cause?: unknown): ExtensionDecodeResult<UtMetadataMessage> => ({
    kind: 'error',
    err: extensionError('ut_metadata', field, reason, cause),
  });
  let value: BValue;
  let end: number;
  try {
    ({ value, end } = decodePrefix(payload, 0, { maxDepth: 2 }));
  } catch (e) {
    if (e instanceof BencodeError) return fail('', e.message, e);
    throw e;
  }
  if (!isDict(value)) return fail('', 'payload does not start with a dictionary');
  const msgType = value.get('msg_type');
  if (typeof msgType !== 'number' || !Number.isInteger(msgType)) return fail('msg_type', `${describeValue(msgType)} is not an integer`);
  if (msgType !== MSG_REQUEST && msgType !== MSG_DATA && msgType !== MSG_REJECT) {
    return { kind: 'ok', value: { type: 'unknown', msgType } };
  }
  const piece = value.get('piece');
  if (typeof piece !== 'number' || !Number.isInteger(piece) || piece < 0 || piece >= MAX_METADATA_PIECES) {
    return fail('piece', `${describeValue(piece)} is not in 0..${MAX_METADATA_PIECES - 1}`);
  }
  if (options.metadataSize !== undefined && piece >= metadataPieceCount(options.metadataSize)) {
    return fail('piece', `${piece} is past the last piece of ${options.metadataSize} bytes of metadata`);
  }
  if (msgType !== MSG_DATA) {
    if (end !== payload.length) return fail('', `${payload.length - end} bytes after the dictionary`);
    return { kind: 'ok', value: { type: msgType === MSG_REQUEST ? 'request' : 'reject', piece } };
  }
  const totalSize = value.get('total_size');
  if (typeof totalSize !== 'number' || !Number.isInteger(totalSize) || totalSize < 1 || totalSize > MAX_METADATA_SIZE) {
    return fail('total_size', `${describeValue(totalSize)} is not in 1..${MAX_METADATA_SIZE}`);
  }
  if (options.metadataSize !== undefined && totalSize !== options.metadataSize) {
    return fail('total_size', `${totalSize} differs from the announced metadata_size ${options.metadataSize}`);
  }
  if (piece >= metadataPieceCount(totalSize)) return fail('piece', `${piece} is past the last piece of ${totalSize} bytes`);
  const expected = metadataPieceLength(totalSize, piece);
  const dataLength = payload.length - end;
  if (dataLength !== expected) return fail('data', `${dataLength} bytes, expected ${expected}`);
  return { kind: 'ok', value: { type: 'data', piece, totalSize, data: payload.subarray(end) } };
}
