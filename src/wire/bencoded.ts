/** Helpers shared by the BEP 10/9/11 decoders (internal to src/wire). */
import { BencodeError, decode, isBytes, isDict, isInteger, type BDict, type BValue } from '../bencode/index.js';
import { extensionError, type WireError } from './errors.js';

/** Nesting accepted in an extension payload (the handshake is a dict of a dict). */
const MAX_DEPTH = 4;

export type ExtensionDecodeResult<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly err: WireError };

/** Decodes a payload that must be exactly one bencoded dict. */
export function decodeDict(
  extension: 'handshake' | 'ut_metadata' | 'ut_pex',
  payload: Uint8Array,
): ExtensionDecodeResult<BDict> {
  let value: BValue;
  try {
    value = decode(payload, { maxDepth: MAX_DEPTH });
  } catch (e) {
    if (e instanceof BencodeError) return { kind: 'error', err: extensionError(extension, '', e.message, e) };
    throw e;
  }
  if (!isDict(value)) return { kind: 'error', err: extensionError(extension, '', 'payload is not a dictionary') };
  return { kind: 'ok', value };
}

export function describeValue(v: BValue | undefined): string {
  if (v === undefined) return 'missing';
  if (isInteger(v)) return String(v);
  if (isBytes(v)) return `a ${v.length}-byte string`;
  if (isDict(v)) return 'a dictionary';
  return 'a list';
}

/** ASCII-only form of a peer-chosen name for error messages. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x20-\x7e]/g, '?');
}
