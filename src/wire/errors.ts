/**
 * Errors of the peer wire layer. Every decoder returns these (never throws them) so a
 * hostile peer can only ever produce a `{kind: 'error'}` value; each one carries the
 * offending values so a log line says exactly what the peer sent.
 */

/** What each error code carries. `id` is the BEP 3 message id (byte after the length). */
export interface WireErrorDetails {
  /** A length above the bound for its message (or above every bound, before the id is known). */
  EWIRE_TOO_LONG: { readonly id: number | null; readonly length: number; readonly max: number };
  /** A length that is not the exact (or at least the minimum) size of its message. */
  EWIRE_BAD_LENGTH: { readonly id: number; readonly length: number; readonly expected: number; readonly atLeast: boolean };
  /** A piece index at or past the piece count. */
  EWIRE_BAD_INDEX: { readonly id: number; readonly index: number; readonly pieceCount: number };
  /** A request/cancel/reject block length of 0 or above the block bound. */
  EWIRE_BAD_BLOCK_LENGTH: { readonly id: number; readonly blockLength: number; readonly max: number };
  /** Bits set past the last piece of a bitfield. */
  EWIRE_SPARE_BITS: { readonly pieceCount: number; readonly lastByte: number };
  /** A message id this codec does not know. */
  EWIRE_UNKNOWN_ID: { readonly id: number; readonly length: number };
  /** The 68-byte handshake is malformed. */
  EWIRE_BAD_HANDSHAKE: { readonly field: 'pstrlen' | 'pstr'; readonly offset: number; readonly byte: number };
  /** A BEP 10/9/11 payload is malformed or out of bounds. */
  EWIRE_BAD_EXTENSION: {
    readonly extension: 'handshake' | 'ut_metadata' | 'ut_pex';
    readonly field: string;
    readonly reason: string;
  };
  /** Our own code asked to encode something impossible (a bug, not a peer's fault). */
  EWIRE_INVALID_ARGUMENT: { readonly argument: string; readonly reason: string };
}

export type WireErrorCode = keyof WireErrorDetails;

/** Readable names of message ids for error messages. */
const ID_NAMES: Readonly<Record<number, string>> = {
  0: 'choke',
  1: 'unchoke',
  2: 'interested',
  3: 'not-interested',
  4: 'have',
  5: 'bitfield',
  6: 'request',
  7: 'piece',
  8: 'cancel',
  9: 'port',
  13: 'suggest',
  14: 'have-all',
  15: 'have-none',
  16: 'reject',
  17: 'allowed-fast',
  20: 'extended',
};

function idName(id: number | null): string {
  if (id === null) return 'message';
  return `${ID_NAMES[id] ?? 'unknown'} (id ${id}) message`;
}

/** Code and details together, so a switch on `code` narrows the details. */
type Tagged = { [C in WireErrorCode]: { readonly code: C; readonly d: WireErrorDetails[C] } }[WireErrorCode];

function hexByte(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function describe(t: Tagged): string {
  switch (t.code) {
    case 'EWIRE_TOO_LONG':
      return `${idName(t.d.id)} length ${t.d.length} exceeds the maximum ${t.d.max}`;
    case 'EWIRE_BAD_LENGTH':
      return `${idName(t.d.id)} length ${t.d.length}, expected ${t.d.atLeast ? 'at least ' : ''}${t.d.expected}`;
    case 'EWIRE_BAD_INDEX':
      return `${idName(t.d.id)} piece index ${t.d.index} is out of range (${t.d.pieceCount} pieces)`;
    case 'EWIRE_BAD_BLOCK_LENGTH':
      return `${idName(t.d.id)} block length ${t.d.blockLength} is not in 1..${t.d.max}`;
    case 'EWIRE_SPARE_BITS':
      return `bitfield for ${t.d.pieceCount} pieces has spare bits set (last byte ${hexByte(t.d.lastByte)})`;
    case 'EWIRE_UNKNOWN_ID':
      return `unknown message id ${t.d.id} (length ${t.d.length})`;
    case 'EWIRE_BAD_HANDSHAKE':
      return `bad handshake: unexpected byte ${hexByte(t.d.byte)} at offset ${t.d.offset} (${t.d.field}), expected "\\x13BitTorrent protocol"`;
    case 'EWIRE_BAD_EXTENSION':
      return `bad ${t.d.extension} message: ${t.d.field ? `${t.d.field}: ` : ''}${t.d.reason}`;
    case 'EWIRE_INVALID_ARGUMENT':
      return `invalid ${t.d.argument}: ${t.d.reason}`;
  }
}

export class WireError<C extends WireErrorCode = WireErrorCode> extends Error {
  readonly code: C;
  /** The offending values, per code (see WireErrorDetails). */
  readonly details: WireErrorDetails[C];

  constructor(code: C, details: WireErrorDetails[C], options?: { cause?: unknown }) {
    super(describe({ code, d: details } as Tagged), options);
    this.name = 'WireError';
    this.code = code;
    this.details = details;
  }
}

/** Shorthand used by the extension decoders. */
export function extensionError(
  extension: WireErrorDetails['EWIRE_BAD_EXTENSION']['extension'],
  field: string,
  reason: string,
  cause?: unknown,
): WireError<'EWIRE_BAD_EXTENSION'> {
  return new WireError('EWIRE_BAD_EXTENSION', { extension, field, reason }, cause === undefined ? undefined : { cause });
}

/** Shorthand used by the encoders when our own caller passes a value the codec refuses. */
export function invalidArgument(argument: string, reason: string): WireError<'EWIRE_INVALID_ARGUMENT'> {
  return new WireError('EWIRE_INVALID_ARGUMENT', { argument, reason });
}
