/**
 * BEP 3 peer messages, BEP 6 fast-extension messages and the BEP 10 `extended` envelope.
 * Wire form: <uint32 length><uint8 id><payload>; length 0 is a keep-alive.
 *
 * Decoding is pure and never throws: every length is read unsigned and checked against its
 * message's exact or maximum size before anything is sliced or allocated.
 *
 * Unknown ids are an error (EWIRE_UNKNOWN_ID), not skipped: every id a peer may send is
 * either BEP 3 or gated by a reserved bit it saw us set (BEP 6, 10; BEP 52's hash messages
 * need the v2 bit, which we never set), so an unknown id means a broken or hostile peer and an
 * unbounded-by-spec payload we could only buffer blindly.
 *
 * Whether a BEP 6 message is allowed on this connection (both sides set the fast bit) is the
 * peer layer's decision; the codec decodes them whenever they are well formed.
 */
import { WireError } from './errors.js';

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 13,
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  extended: 20,
} as const;

/** BEP 3: requests are 2^14 bytes; larger ones are refused by most clients. */
export const DEFAULT_MAX_BLOCK_LENGTH = 16 * 1024;
/** Bound on a BEP 10 payload (after the extended id byte); ut_metadata data is ~16.1 KiB. */
export const DEFAULT_MAX_EXTENDED_LENGTH = 1024 * 1024;
/**
 * Bound on a bitfield while the piece count is unknown (magnet, before metadata): metadata is
 * at most 8 MiB and each piece takes 20 bytes of it, so at most 419431 pieces.
 */
export const MAX_UNKNOWN_BITFIELD_LENGTH = Math.ceil(Math.ceil((8 * 1024 * 1024) / 20) / 8);

export interface DecodeLimits {
  /** Pieces in the torrent; null while unknown (metadata not fetched yet): then indexes are unchecked and bitfields only bounded. */
  readonly pieceCount: number | null;
  /** Largest block accepted in piece/request/cancel/reject (default 16 KiB). */
  readonly maxBlockLength?: number;
  /** Largest BEP 10 payload after the extended id byte (default 1 MiB). */
  readonly maxExtendedLength?: number;
}

export type Message =
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have'; readonly index: number }
  /** Validated: exactly ceil(pieceCount/8) bytes, spare bits clear (when pieceCount is known). A view: copy to keep. */
  | { readonly type: 'bitfield'; readonly bitfield: Buffer }
  | { readonly type: 'request'; readonly index: number; readonly begin: number; readonly length: number }
  /** `block` is a view into the received bytes: write it out or copy it, do not hold it for long. */
  | { readonly type: 'piece'; readonly index: number; readonly begin: number; readonly block: Buffer }
  | { readonly type: 'cancel'; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: 'port'; readonly port: number }
  | { readonly type: 'suggest'; readonly index: number }
  | { readonly type: 'have-all' }
  | { readonly type: 'have-none' }
  | { readonly type: 'reject'; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: 'allowed-fast'; readonly index: number }
  /** BEP 10: id 0 is the extended handshake, others are the ids we announced in our `m`. `payload` is a view. */
  | { readonly type: 'extended'; readonly id: number; readonly payload: Buffer };

export type MessageType = Message['type'];

export type DecodeResult =
  | { readonly kind: 'message'; readonly msg: Message; readonly consumed: number }
  | { readonly kind: 'need-more' }
  | { readonly kind: 'error'; readonly err: WireError };

export const NEED_MORE: DecodeResult = Object.freeze({ kind: 'need-more' });

// ---------------------------------------------------------------------------------------------
// Bounds

function bitfieldLength(pieceCount: number): number {
  return Math.ceil(pieceCount / 8);
}

/** The longest message (length prefix value, i.e. id + payload) any id may have under `limits`. */
export function maxMessageLength(limits: DecodeLimits): number {
  const maxBlock = limits.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH;
  const maxExtended = limits.maxExtendedLength ?? DEFAULT_MAX_EXTENDED_LENGTH;
  const bitfield = limits.pieceCount === null ? MAX_UNKNOWN_BITFIELD_LENGTH : bitfieldLength(limits.pieceCount);
  return Math.max(13, 1 + bitfield, 9 + maxBlock, 2 + maxExtended);
}

/**
 * Checks a message's length (the prefix value, > 0) against its id before its payload is
 * buffered. Returns the error, or null when the length is allowed for that id.
 */
export function checkMessageHeader(length: number, id: number, limits: DecodeLimits): WireError | null {
  switch (id) {
    case MessageId.choke:
    case MessageId.unchoke:
    case MessageId.interested:
    case MessageId.notInterested:
    case MessageId.haveAll:
    case MessageId.haveNone:
      return exact(id, length, 1);
    case MessageId.have:
    case MessageId.suggest:
    case MessageId.allowedFast:
      return exact(id, length, 5);
    case MessageId.request:
    case MessageId.cancel:
    case MessageId.reject:
      return exact(id, length, 13);
    case MessageId.port:
      return exact(id, length, 3);
    case MessageId.bitfield: {
      if (limits.pieceCount !== null) return exact(id, length, 1 + bitfieldLength(limits.pieceCount));
      if (length > 1 + MAX_UNKNOWN_BITFIELD_LENGTH) {
        return new WireError('EWIRE_TOO_LONG', { id, length, max: 1 + MAX_UNKNOWN_BITFIELD_LENGTH });
      }
      return length < 2 ? new WireError('EWIRE_BAD_LENGTH', { id, length, expected: 2, atLeast: true }) : null;
    }
    case MessageId.piece: {
      const max = 9 + (limits.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH);
      if (length > max) return new WireError('EWIRE_TOO_LONG', { id, length, max });
      // An empty block answers no request; refuse it rather than hand it on.
      return length < 10 ? new WireError('EWIRE_BAD_LENGTH', { id, length, expected: 10, atLeast: true }) : null;
    }
    case MessageId.extended: {
      const max = 2 + (limits.maxExtendedLength ?? DEFAULT_MAX_EXTENDED_LENGTH);
      if (length > max) return new WireError('EWIRE_TOO_LONG', { id, length, max });
      return length < 2 ? new WireError('EWIRE_BAD_LENGTH', { id, length, expected: 2, atLeast: true }) : null;
    }
    default:
      return new WireError('EWIRE_UNKNOWN_ID', { id, length });
  }
}

function exact(id: number, length: number, expected: number): WireError | null {
  return length === expected ? null : new WireError('EWIRE_BAD_LENGTH', { id, length, expected, atLeast: false });
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes one message starting at `offset`. `consumed` counts the length prefix.
 * The piece block, bitfield and extended payload are views into `buf` (zero-copy).
 */
export function decodeMessage(buf: Buffer, offset: number, limits: DecodeLimits): DecodeResult {
  const available = buf.length - offset;
  if (available < 4) return NEED_MORE;
  const length = buf.readUInt32BE(offset);
  if (length === 0) return { kind: 'message', msg: KEEP_ALIVE, consumed: 4 };
  const max = maxMessageLength(limits);
  if (length > max) return { kind: 'error', err: new WireError('EWIRE_TOO_LONG', { id: null, length, max }) };
  if (available < 5) return NEED_MORE;
  const id = buf[offset + 4]!;
  const headerError = checkMessageHeader(length, id, limits);
  if (headerError) return { kind: 'error', err: headerError };
  if (available < 4 + length) return NEED_MORE;
  return decodeMessageBody(buf, offset + 4, length, limits);
}

const KEEP_ALIVE: Message = Object.freeze({ type: 'keep-alive' });
const CHOKE: Message = Object.freeze({ type: 'choke' });
const UNCHOKE: Message = Object.freeze({ type: 'unchoke' });
const INTERESTED: Message = Object.freeze({ type: 'interested' });
const NOT_INTERESTED: Message = Object.freeze({ type: 'not-interested' });
const HAVE_ALL: Message = Object.freeze({ type: 'have-all' });
const HAVE_NONE: Message = Object.freeze({ type: 'have-none' });

/**
 * Decodes the body of a message whose header already passed checkMessageHeader:
 * `buf[start]` is the id and `buf[start, start + length)` is all there.
 */
export function decodeMessageBody(buf: Buffer, start: number, length: number, limits: DecodeLimits): DecodeResult {
  const id = buf[start]!;
  const p = start + 1;
  const consumed = 4 + length;
  let msg: Message;
  switch (id) {
    case MessageId.choke:
      msg = CHOKE;
      break;
    case MessageId.unchoke:
      msg = UNCHOKE;
      break;
    case MessageId.interested:
      msg = INTERESTED;
      break;
    case MessageId.notInterested:
      msg = NOT_INTERESTED;
      break;
    case MessageId.haveAll:
      msg = HAVE_ALL;
      break;
    case MessageId.haveNone:
      msg = HAVE_NONE;
      break;
    case MessageId.have:
    case MessageId.suggest:
    case MessageId.allowedFast: {
      const index = buf.readUInt32BE(p);
      const err = checkIndex(id, index, limits);
      if (err) return { kind: 'error', err };
      const type = id === MessageId.have ? 'have' : id === MessageId.suggest ? 'suggest' : 'allowed-fast';
      msg = { type, index };
      break;
    }
    case MessageId.request:
    case MessageId.cancel:
    case MessageId.reject: {
      const index = buf.readUInt32BE(p);
      const begin = buf.readUInt32BE(p + 4);
      const blockLength = buf.readUInt32BE(p + 8);
      const err = checkIndex(id, index, limits);
      if (err) return { kind: 'error', err };
      const maxBlock = limits.maxBlockLength ?? DEFAULT_MAX_BLOCK_LENGTH;
      if (blockLength === 0 || blockLength > maxBlock) {
        return { kind: 'error', err: new WireError('EWIRE_BAD_BLOCK_LENGTH', { id, blockLength, max: maxBlock }) };
      }
      const type = id === MessageId.request ? 'request' : id === MessageId.cancel ? 'cancel' : 'reject';
      msg = { type, index, begin, length: blockLength };
      break;
    }
    case MessageId.piece: {
      const index = buf.readUInt32BE(p);
      const err = checkIndex(id, index, limits);
      if (err) return { kind: 'error', err };
      msg = { type: 'piece', index, begin: buf.readUInt32BE(p + 4), block: buf.subarray(p + 8, start + length) };
      break;
    }
    case MessageId.bitfield: {
      const bitfield = buf.subarray(p, start + length);
      if (limits.pieceCount !== null) {
        const spare = bitfield.length * 8 - limits.pieceCount;
        const lastByte = bitfield[bitfield.length - 1] ?? 0;
        if (spare > 0 && (lastByte & ((1 << spare) - 1)) !== 0) {
          return { kind: 'error', err: new WireError('EWIRE_SPARE_BITS', { pieceCount: limits.pieceCount, lastByte }) };
        }
      }
      msg = { type: 'bitfield', bitfield };
      break;
    }
    case MessageId.port:
      msg = { type: 'port', port: buf.readUInt16BE(p) };
      break;
    case MessageId.extended:
      msg = { type: 'extended', id: buf[p]!, payload: buf.subarray(p + 1, start + length) };
      break;
    default:
      return { kind: 'error', err: new WireError('EWIRE_UNKNOWN_ID', { id, length }) };
  }
  return { kind: 'message', msg, consumed };
}

function checkIndex(id: number, index: number, limits: DecodeLimits): WireError | null {
  if (limits.pieceCount !== null && index >= limits.pieceCount) {
    return new WireError('EWIRE_BAD_INDEX', { id, index, pieceCount: limits.pieceCount });
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Encoding (our own messages: out-of-range fields throw, they are bugs on our side)

/** The 13 bytes before a piece's block: length prefix, id 7, index, begin. */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const out = Buffer.alloc(13);
  out.writeUInt32BE(9 + blockLength, 0);
  out[4] = MessageId.piece;
  out.writeUInt32BE(index, 5);
  out.writeUInt32BE(begin, 9);
  return out;
}

function withId(payloadLength: number, id: number): Buffer {
  const out = Buffer.alloc(5 + payloadLength);
  out.writeUInt32BE(1 + payloadLength, 0);
  out[4] = id;
  return out;
}

function indexMessage(id: number, index: number): Buffer {
  const out = withId(4, id);
  out.writeUInt32BE(index, 5);
  return out;
}

function blockMessage(id: number, index: number, begin: number, length: number): Buffer {
  const out = withId(12, id);
  out.writeUInt32BE(index, 5);
  out.writeUInt32BE(begin, 9);
  out.writeUInt32BE(length, 13);
  return out;
}

/**
 * Encodes one message into a fresh zero-filled buffer. For piece messages on the upload
 * path prefer encodePieceHeader + writing the block separately (no copy of the block).
 * Throws a RangeError (ERR_OUT_OF_RANGE) for fields that do not fit their wire width.
 */
export function encodeMessage(msg: Message): Buffer {
  switch (msg.type) {
    case 'keep-alive':
      return Buffer.alloc(4);
    case 'choke':
      return withId(0, MessageId.choke);
    case 'unchoke':
      return withId(0, MessageId.unchoke);
    case 'interested':
      return withId(0, MessageId.interested);
    case 'not-interested':
      return withId(0, MessageId.notInterested);
    case 'have-all':
      return withId(0, MessageId.haveAll);
    case 'have-none':
      return withId(0, MessageId.haveNone);
    case 'have':
      return indexMessage(MessageId.have, msg.index);
    case 'suggest':
      return indexMessage(MessageId.suggest, msg.index);
    case 'allowed-fast':
      return indexMessage(MessageId.allowedFast, msg.index);
    case 'request':
      return blockMessage(MessageId.request, msg.index, msg.begin, msg.length);
    case 'cancel':
      return blockMessage(MessageId.cancel, msg.index, msg.begin, msg.length);
    case 'reject':
      return blockMessage(MessageId.reject, msg.index, msg.begin, msg.length);
    case 'bitfield': {
      const out = withId(msg.bitfield.length, MessageId.bitfield);
      out.set(msg.bitfield, 5);
      return out;
    }
    case 'piece': {
      const out = Buffer.alloc(13 + msg.block.length);
      encodePieceHeader(msg.index, msg.begin, msg.block.length).copy(out, 0);
      out.set(msg.block, 13);
      return out;
    }
    case 'port': {
      const out = withId(2, MessageId.port);
      out.writeUInt16BE(msg.port, 5);
      return out;
    }
    case 'extended': {
      const out = withId(1 + msg.payload.length, MessageId.extended);
      out.writeUInt8(msg.id, 5);
      out.set(msg.payload, 6);
      return out;
    }
  }
}
