/**
 * BEP 10 extended handshake: the bencoded dict carried by `extended` id 0.
 *
 * Strict where a value drives memory or protocol (`m` ids, `metadata_size`); tolerant of
 * malformed informational fields (`v`, `p`, `reqq`, `yourip`), which are dropped rather than
 * failing the connection, as real clients do. Everything is bounded.
 */
import { encode, isBytes, isDict } from '../bencode/index.js';
import { decodeDict, describeValue, printable, type ExtensionDecodeResult } from './bencoded.js';
import { extensionError, invalidArgument as invalid } from './errors.js';

/** Largest extended handshake payload accepted (real ones are a few hundred bytes). */
export const MAX_EXTENDED_HANDSHAKE_LENGTH = 64 * 1024;
/** Largest info dict we will fetch with BEP 9. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
/** Most entries accepted in `m` (ids are one byte, so 255 is already every possible id). */
export const MAX_EXTENSION_NAMES = 255;
/** Longest extension name in `m`. */
export const MAX_EXTENSION_NAME_LENGTH = 64;
/** Longest client name `v` kept. */
export const MAX_CLIENT_NAME_LENGTH = 256;

export interface ExtendedHandshake {
  /**
   * Extension name -> the id to use when sending that extension TO this peer; 0 means the
   * peer disables it (BEP 10 updates). A null-prototype object: names such as `__proto__`
   * are plain keys.
   */
  readonly m: Readonly<Record<string, number>>;
  /** Client name and version, UTF-8 (escape before printing). */
  readonly v?: string;
  /** The peer's TCP listen port. */
  readonly p?: number;
  /** How many outstanding requests the peer accepts. */
  readonly reqq?: number;
  /** BEP 9: size of the info dict, 1..8 MiB. */
  readonly metadata_size?: number;
  /** Our address as the peer sees it: 4 or 16 bytes. */
  readonly yourip?: Buffer;
  /** MSE: 1 when the client prefers encrypted connections (BEP 11 passes it on as flag 0x01). */
  readonly e?: 0 | 1;
}

export type { ExtensionDecodeResult };


/** Bencodes our handshake (the payload of `extended` id 0). Throws on values that break the bounds. */
export function encodeExtendedHandshake(h: ExtendedHandshake): Buffer {
  // Names are byte strings held as latin1 (as the decoder gives them), so they round-trip.
  const m = new Map<Uint8Array, number>();
  for (const [name, id] of Object.entries(h.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw invalid(`m.${name}`, `id ${id} is not in 0..255`);
    if (name.length === 0 || name.length > MAX_EXTENSION_NAME_LENGTH) throw invalid(`m.${name}`, 'bad name length');
    m.set(Buffer.from(name, 'latin1'), id);
  }
  if (h.metadata_size !== undefined && !(Number.isInteger(h.metadata_size) && h.metadata_size > 0 && h.metadata_size <= MAX_METADATA_SIZE)) {
    throw invalid('metadata_size', `${h.metadata_size} is not in 1..${MAX_METADATA_SIZE}`);
  }
  if (h.p !== undefined && !(Number.isInteger(h.p) && h.p > 0 && h.p <= 0xffff)) throw invalid('p', `${h.p} is not a port`);
  if (h.yourip !== undefined && h.yourip.length !== 4 && h.yourip.length !== 16) throw invalid('yourip', 'must be 4 or 16 bytes');
  if (h.e !== undefined && h.e !== 0 && h.e !== 1) throw invalid('e', `${String(h.e)} is not 0 or 1`);
  const out = encode({ m, v: h.v, p: h.p, reqq: h.reqq, metadata_size: h.metadata_size, yourip: h.yourip, e: h.e });
  if (out.length > MAX_EXTENDED_HANDSHAKE_LENGTH) throw invalid('handshake', `encodes to ${out.length} bytes`);
  return out;
}

/** Decodes a peer's extended handshake payload. Never throws. */
export function decodeExtendedHandshake(payload: Uint8Array): ExtensionDecodeResult<ExtendedHandshake> {
  if (payload.length > MAX_EXTENDED_HANDSHAKE_LENGTH) {
    return { kind: 'error', err: extensionError('handshake', '', `payload of ${payload.length} bytes exceeds ${MAX_EXTENDED_HANDSHAKE_LENGTH}`) };
  }
  const parsed = decodeDict('handshake', payload);
  if (parsed.kind === 'error') return parsed;
  const dict = parsed.value;

  const m = Object.create(null) as Record<string, number>;
  const mValue = dict.get('m');
  if (mValue !== undefined) {
    if (!isDict(mValue)) return { kind: 'error', err: extensionError('handshake', 'm', 'is not a dictionary') };
    if (mValue.size > MAX_EXTENSION_NAMES) {
      return { kind: 'error', err: extensionError('handshake', 'm', `${mValue.size} entries exceed ${MAX_EXTENSION_NAMES}`) };
    }
    for (const [name, id] of mValue.entries) {
      if (name.length === 0 || name.length > MAX_EXTENSION_NAME_LENGTH) {
        return { kind: 'error', err: extensionError('handshake', 'm', `extension name of ${name.length} bytes`) };
      }
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 255) {
        return { kind: 'error', err: extensionError('handshake', `m.${printable(name)}`, `id ${describeValue(id)} is not in 0..255`) };
      }
      m[name] = id;
    }
  }

  const result: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = { m };

  const size = dict.get('metadata_size');
  if (size !== undefined) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_METADATA_SIZE) {
      return { kind: 'error', err: extensionError('handshake', 'metadata_size', `${describeValue(size)} is not in 1..${MAX_METADATA_SIZE}`) };
    }
    result.metadata_size = size;
  }

  const v = dict.get('v');
  if (isBytes(v) && v.length <= MAX_CLIENT_NAME_LENGTH) result.v = v.toString('utf8');
  const p = dict.get('p');
  if (typeof p === 'number' && Number.isInteger(p) && p > 0 && p <= 0xffff) result.p = p;
  const reqq = dict.get('reqq');
  if (typeof reqq === 'number' && Number.isInteger(reqq) && reqq > 0 && reqq <= 0x7fffffff) result.reqq = reqq;
  const yourip = dict.get('yourip');
  if (isBytes(yourip) && (yourip.length === 4 || yourip.length === 16)) result.yourip = Buffer.from(yourip);
  const e = dict.get('e');
  if (e === 0 || e === 1) result.e = e;
  return { kind: 'ok', value: result };
}
