/**
 * BEP 29 packet codec. Pure: bytes in, a typed packet (or an error value) out, and back.
 *
 * Header (20 bytes, big-endian):
 *   0  type (high nibble) | version (low nibble, always 1)
 *   1  type of the first extension (0 = none)
 *   2  connection id (u16)
 *   4  timestamp, microseconds (u32)
 *   8  timestamp difference, microseconds (u32)
 *   12 window size, bytes (u32)
 *   16 sequence number (u16)
 *   18 ack number (u16)
 * then the extension chain: (type of the next extension u8, length u8, bytes), then the payload.
 * Extension 1 is the selective ack bitmask: bit i (LSB first within each byte) says packet
 * ack_nr + 2 + i was received.
 */
import { badPacket, type UtpError } from './errors.js';

export const HEADER_LENGTH = 20;
export const VERSION = 1;

export const PacketType = {
  DATA: 0,
  FIN: 1,
  STATE: 2,
  RESET: 3,
  SYN: 4,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const PACKET_TYPE_NAMES: readonly string[] = ['ST_DATA', 'ST_FIN', 'ST_STATE', 'ST_RESET', 'ST_SYN'];

export const EXTENSION_SELECTIVE_ACK = 1;
/** More extensions than this in one packet is garbage (real clients send at most two). */
export const MAX_EXTENSIONS = 8;
/** Largest datagram we decode: a UDP payload cannot be larger. */
export const MAX_DATAGRAM = 65_507;

export interface Extension {
  readonly type: number;
  readonly data: Buffer;
}

export interface Packet {
  readonly type: PacketType;
  readonly connectionId: number;
  readonly timestamp: number;
  readonly timestampDiff: number;
  readonly windowSize: number;
  readonly seq: number;
  readonly ack: number;
  /** In wire order; a selective ack is the one with type 1. */
  readonly extensions: readonly Extension[];
  readonly payload: Buffer;
}

export type PacketResult = { readonly kind: 'packet'; readonly packet: Packet } | { readonly kind: 'error'; readonly err: UtpError<'EUTP_BAD_PACKET'> };

/** The first byte of a uTP packet of this type: what the socket demultiplexes on. */
export function firstByte(type: PacketType): number {
  return (type << 4) | VERSION;
}

/** True if the first byte of a datagram can start a uTP packet (any type 0-4, version 1). */
export function looksLikeUtp(byte: number): boolean {
  return (byte & 0x0f) === VERSION && byte >> 4 <= PacketType.SYN;
}

export function decodePacket(buf: Uint8Array): PacketResult {
  if (buf.length < HEADER_LENGTH) return fail('length', `${buf.length} bytes is shorter than the 20-byte header`);
  if (buf.length > MAX_DATAGRAM) return fail('length', `${buf.length} bytes is longer than a UDP datagram`);
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const b0 = b[0]!;
  const version = b0 & 0x0f;
  const type = b0 >> 4;
  if (version !== VERSION) return fail('version', `${version} is not 1`);
  if (type > PacketType.SYN) return fail('type', `${type} is not a packet type (0-4)`);
  const extensions: Extension[] = [];
  let next = b[1]!;
  let pos = HEADER_LENGTH;
  while (next !== 0) {
    if (extensions.length >= MAX_EXTENSIONS) return fail('extension', `more than ${MAX_EXTENSIONS} extensions`);
    if (pos + 2 > b.length) return fail('extension', `extension ${next} header at ${pos} runs past the end (${b.length})`);
    const following = b[pos]!;
    const len = b[pos + 1]!;
    if (pos + 2 + len > b.length) return fail('extension', `extension ${next} of ${len} bytes at ${pos} runs past the end (${b.length})`);
    // BEP 29 asks for a multiple of 4 bytes, but libtorrent sends just the bytes it needs
    // (seen on the wire: length 1), so any non-empty mask is taken.
    if (next === EXTENSION_SELECTIVE_ACK && len === 0) return fail('selective ack', 'length 0');
    extensions.push({ type: next, data: b.subarray(pos + 2, pos + 2 + len) });
    pos += 2 + len;
    next = following;
  }
  const payload = b.subarray(pos);
  if (payload.length > 0 && type !== PacketType.DATA) {
    // Only ST_DATA carries payload (BEP 29); bytes after a STATE/SYN/FIN/RESET are garbage.
    return fail('payload', `${PACKET_TYPE_NAMES[type]} carries ${payload.length} payload bytes`);
  }
  return {
    kind: 'packet',
    packet: {
      type: type as PacketType,
      connectionId: b.readUInt16BE(2),
      timestamp: b.readUInt32BE(4),
      timestampDiff: b.readUInt32BE(8),
      windowSize: b.readUInt32BE(12),
      seq: b.readUInt16BE(16),
      ack: b.readUInt16BE(18),
      extensions,
      payload,
    },
  };
}

function fail(field: string, reason: string): PacketResult {
  return { kind: 'error', err: badPacket(field, reason) };
}

/** Bytes `encodePacket` will produce for this packet. */
export function encodedLength(p: Packet): number {
  let n = HEADER_LENGTH + p.payload.length;
  for (const e of p.extensions) n += 2 + e.data.length;
  return n;
}

/** Encodes a packet. Numbers are taken modulo their field width (callers keep them in range). */
export function encodePacket(p: Packet): Buffer {
  const out = Buffer.alloc(encodedLength(p));
  out[0] = firstByte(p.type);
  out[1] = p.extensions[0]?.type ?? 0;
  out.writeUInt16BE(p.connectionId & 0xffff, 2);
  out.writeUInt32BE(p.timestamp >>> 0, 4);
  out.writeUInt32BE(p.timestampDiff >>> 0, 8);
  out.writeUInt32BE(p.windowSize >>> 0, 12);
  out.writeUInt16BE(p.seq & 0xffff, 16);
  out.writeUInt16BE(p.ack & 0xffff, 18);
  let pos = HEADER_LENGTH;
  for (let i = 0; i < p.extensions.length; i++) {
    const e = p.extensions[i]!;
    if (e.data.length > 255) throw new RangeError(`uTP extension ${e.type} is ${e.data.length} bytes (max 255)`);
    out[pos] = p.extensions[i + 1]?.type ?? 0;
    out[pos + 1] = e.data.length;
    e.data.copy(out, pos + 2);
    pos += 2 + e.data.length;
  }
  p.payload.copy(out, pos);
  return out;
}

/** The selective ack bitmask of a packet, or null. */
export function selectiveAck(p: Packet): Buffer | null {
  for (const e of p.extensions) if (e.type === EXTENSION_SELECTIVE_ACK) return e.data;
  return null;
}

/** Sequence numbers (mod 2^16) a selective ack bitmask says were received, in order. */
export function sackedSeqs(ack: number, mask: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length * 8; i++) {
    if ((mask[i >> 3]! >> (i & 7)) & 1) out.push((ack + 2 + i) & 0xffff);
  }
  return out;
}

// Sequence arithmetic modulo 2^16 (BEP 29 numbers wrap).

/** b - a modulo 2^16, as 0..65535. */
export function seqDistance(a: number, b: number): number {
  return (b - a) & 0xffff;
}

/** a comes before b (within half the sequence space). */
export function seqLess(a: number, b: number): boolean {
  const d = seqDistance(a, b);
  return d !== 0 && d < 0x8000;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) & 0xffff;
}
