/**
 * Errors of the MSE/PE layer. The handshake machines return these (never throw them) so a
 * hostile peer can only produce an error value; each carries the offending values.
 */

export interface MseErrorDetails {
  /** The peer's DH public value is degenerate or the wrong size. */
  EMSE_BAD_PUBLIC_KEY: { readonly reason: string };
  /** A synchronisation marker (HASH('req1', S) or ENCRYPT(VC)) was not where the spec allows. */
  EMSE_NO_SYNC: { readonly marker: 'req1' | 'vc'; readonly searched: number };
  /** The obfuscated info-hash names no torrent we serve. */
  EMSE_UNKNOWN_TORRENT: { readonly req2Hash: string };
  /** The decrypted verification constant is not 8 zero bytes. */
  EMSE_BAD_VC: { readonly vc: string };
  /** A padding or initial-payload length above its bound. */
  EMSE_BAD_LENGTH: { readonly field: 'padC' | 'padD' | 'IA'; readonly length: number; readonly max: number };
  /** Receiver: nothing in crypto_provide that our policy allows. */
  EMSE_NO_COMMON_METHOD: { readonly provided: number; readonly allowed: number };
  /** Initiator: crypto_select is not exactly one of the methods we offered. */
  EMSE_BAD_SELECT: { readonly selected: number; readonly provided: number };
  /** A plaintext BitTorrent handshake where our policy requires encryption (or the reverse). */
  EMSE_POLICY: { readonly reason: string };
  /** The connection closed, failed or timed out before the handshake ended. */
  EMSE_CONNECTION: { readonly stage: string; readonly reason: string };
  /** Our own code passed an impossible argument (a bug, not a peer's fault). */
  EMSE_INVALID_ARGUMENT: { readonly argument: string; readonly reason: string };
}

export type MseErrorCode = keyof MseErrorDetails;

type Tagged = { [C in MseErrorCode]: { readonly code: C; readonly d: MseErrorDetails[C] } }[MseErrorCode];

function describe(t: Tagged): string {
  switch (t.code) {
    case 'EMSE_BAD_PUBLIC_KEY':
      return `encryption handshake: bad Diffie-Hellman public key (${t.d.reason})`;
    case 'EMSE_NO_SYNC':
      return `encryption handshake: ${t.d.marker === 'req1' ? "HASH('req1', S)" : 'ENCRYPT(VC)'} not found in ${t.d.searched} bytes`;
    case 'EMSE_UNKNOWN_TORRENT':
      return `encryption handshake: no torrent matches HASH('req2', SKEY) ${t.d.req2Hash}`;
    case 'EMSE_BAD_VC':
      return `encryption handshake: verification constant ${t.d.vc} is not zero`;
    case 'EMSE_BAD_LENGTH':
      return `encryption handshake: len(${t.d.field}) ${t.d.length} exceeds ${t.d.max}`;
    case 'EMSE_NO_COMMON_METHOD':
      return `encryption handshake: crypto_provide 0x${t.d.provided.toString(16)} offers nothing we allow (0x${t.d.allowed.toString(16)})`;
    case 'EMSE_BAD_SELECT':
      return `encryption handshake: crypto_select 0x${t.d.selected.toString(16)} is not one method of 0x${t.d.provided.toString(16)}`;
    case 'EMSE_POLICY':
      return `encryption policy: ${t.d.reason}`;
    case 'EMSE_CONNECTION':
      return `encryption handshake (${t.d.stage}): ${t.d.reason}`;
    case 'EMSE_INVALID_ARGUMENT':
      return `invalid ${t.d.argument}: ${t.d.reason}`;
  }
}

export class MseError<C extends MseErrorCode = MseErrorCode> extends Error {
  readonly code: C;
  readonly details: MseErrorDetails[C];

  constructor(code: C, details: MseErrorDetails[C], options?: { cause?: unknown }) {
    super(describe({ code, d: details } as Tagged), options);
    this.name = 'MseError';
    this.code = code;
    this.details = details;
  }
}
