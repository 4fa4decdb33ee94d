/**
 * BEP 3 handshake: <pstrlen=19><"BitTorrent protocol"><8 reserved><20 info-hash><20 peer id>.
 * Reserved bits used here: BEP 10 extension protocol (reserved[5] & 0x10), BEP 6 fast
 * extension (reserved[7] & 0x04), BEP 5 DHT (reserved[7] & 0x01).
 */
import { WireError } from './errors.js';

export const HANDSHAKE_LENGTH = 68;
export const PROTOCOL_STRING = 'BitTorrent protocol';
/** pstrlen byte followed by the protocol string: the first 20 bytes of every handshake. */
const PREFIX = Buffer.from(`\x13${PROTOCOL_STRING}`, 'latin1');
const RESERVED_AT = 20;
const INFO_HASH_AT = 28;
const PEER_ID_AT = 48;

export interface HandshakeOptions {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** 8 bytes to start from (bits below are OR-ed in); zeros when absent. */
  readonly reserved?: Uint8Array;
  /** Advertise BEP 10 (default true: pytor always speaks the extension protocol). */
  readonly extensionProtocol?: boolean;
  /** Advertise BEP 6 (default false). */
  readonly fast?: boolean;
  /** Advertise BEP 5 DHT (default false). */
  readonly dht?: boolean;
}

export interface Handshake {
  readonly kind: 'handshake';
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly reserved: Buffer;
  readonly consumed: number;
}

export type HandshakeResult = Handshake | { readonly kind: 'need-more' } | { readonly kind: 'error'; readonly err: WireError };

function requireLength(name: string, value: Uint8Array | undefined, length: number): void {
  if (value !== undefined && value.length !== length) {
    throw new WireError('EWIRE_INVALID_ARGUMENT', { argument: name, reason: `must be ${length} bytes, got ${value.length}` });
  }
}

/** Builds our 68-byte handshake. Throws WireError EWIRE_INVALID_ARGUMENT on wrong-sized inputs. */
export function encodeHandshake(options: HandshakeOptions): Buffer {
  requireLength('infoHash', options.infoHash, 20);
  requireLength('peerId', options.peerId, 20);
  requireLength('reserved', options.reserved, 8);
  const out = Buffer.alloc(HANDSHAKE_LENGTH);
  PREFIX.copy(out, 0);
  if (options.reserved) out.set(options.reserved, RESERVED_AT);
  if (options.extensionProtocol !== false) out[RESERVED_AT + 5]! |= 0x10;
  if (options.fast === true) out[RESERVED_AT + 7]! |= 0x04;
  if (options.dht === true) out[RESERVED_AT + 7]! |= 0x01;
  out.set(options.infoHash, INFO_HASH_AT);
  out.set(options.peerId, PEER_ID_AT);
  return out;
}

/**
 * Decodes a handshake at the start of `buf`. The protocol prefix is checked on whatever
 * bytes have arrived, so a peer speaking something else is refused after its first byte
 * rather than after 68. The returned fields are copies: they outlive the socket chunk.
 */
export function decodeHandshake(buf: Uint8Array): HandshakeResult {
  const checkable = Math.min(buf.length, PREFIX.length);
  for (let i = 0; i < checkable; i++) {
    const byte = buf[i]!;
    if (byte !== PREFIX[i]) {
      return { kind: 'error', err: new WireError('EWIRE_BAD_HANDSHAKE', { field: i === 0 ? 'pstrlen' : 'pstr', offset: i, byte }) };
    }
  }
  if (buf.length < HANDSHAKE_LENGTH) return { kind: 'need-more' };
  return {
    kind: 'handshake',
    reserved: Buffer.from(buf.subarray(RESERVED_AT, RESERVED_AT + 8)),
    infoHash: Buffer.from(buf.subarray(INFO_HASH_AT, INFO_HASH_AT + 20)),
    peerId: Buffer.from(buf.subarray(PEER_ID_AT, PEER_ID_AT + 20)),
    consumed: HANDSHAKE_LENGTH,
  };
}

/** BEP 10: the peer understands `extended` (id 20) messages. */
export function supportsExtensionProtocol(reserved: Uint8Array): boolean {
  return ((reserved[5] ?? 0) & 0x10) !== 0;
}

/** BEP 6: the peer understands have-all/have-none/reject/suggest/allowed-fast. Use only when both sides set it. */
export function supportsFast(reserved: Uint8Array): boolean {
  return ((reserved[7] ?? 0) & 0x04) !== 0;
}

/** BEP 5: the peer runs a DHT node and may send `port`. */
export function supportsDht(reserved: Uint8Array): boolean {
  return ((reserved[7] ?? 0) & 0x01) !== 0;
}
