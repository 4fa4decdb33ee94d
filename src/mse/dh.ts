/**
 * The Diffie-Hellman exchange of MSE/PE: the fixed 768-bit prime of the spec, generator 2,
 * 160-bit private exponents, public values and the shared secret as 96 bytes big-endian.
 *
 * BigInt square-and-multiply rather than crypto.createDiffieHellman: OpenSSL 3 refuses DH
 * groups this small at its default security level, and a 160-bit exponent costs well under a
 * millisecond here. Constant time does not matter for an obfuscation handshake.
 */
import { MseError } from './errors.js';

/** The MSE prime P (768 bits). */
export const DH_PRIME = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B2251' +
    '4A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C' +
    '42E9A63A36210000000000090563',
);
export const DH_GENERATOR = 2n;
/** Bytes of a public value or of the shared secret on the wire. */
export const DH_KEY_LENGTH = 96;
/** Bytes of a private exponent (the spec asks for at least 128 bits; 160 is what clients use). */
export const DH_PRIVATE_LENGTH = 20;

/** base^exp mod m for non-negative BigInts. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    e >>= 1n;
    b = (b * b) % m;
  }
  return result;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

/** value as exactly `length` bytes big-endian, zero-padded on the left (value < 256^length). */
export function bigIntToBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError(`value does not fit in ${length} bytes`);
  return Buffer.from(hex, 'hex');
}

export class DhKeyPair {
  private readonly x: bigint;
  /** Our public value Y = G^X mod P, 96 bytes. */
  readonly publicKey: Buffer;

  /** `privateKey`: 20 random bytes (from an injected source, so tests are reproducible). */
  constructor(privateKey: Uint8Array) {
    if (privateKey.length !== DH_PRIVATE_LENGTH) {
      throw new MseError('EMSE_INVALID_ARGUMENT', { argument: 'privateKey', reason: `must be ${DH_PRIVATE_LENGTH} bytes, got ${privateKey.length}` });
    }
    this.x = bytesToBigInt(privateKey);
    this.publicKey = bigIntToBytes(modPow(DH_GENERATOR, this.x, DH_PRIME), DH_KEY_LENGTH);
  }

  /**
   * The shared secret S = Yremote^X mod P (96 bytes), or an error for a degenerate remote key:
   * outside [2, P-2] the secret falls into a subgroup of size 1 or 2 that a man in the middle
   * could force.
   */
  sharedSecret(remotePublic: Uint8Array): Buffer | MseError<'EMSE_BAD_PUBLIC_KEY'> {
    if (remotePublic.length !== DH_KEY_LENGTH) return new MseError('EMSE_BAD_PUBLIC_KEY', { reason: `length ${remotePublic.length}` });
    const y = bytesToBigInt(remotePublic);
    if (y < 2n || y > DH_PRIME - 2n) return new MseError('EMSE_BAD_PUBLIC_KEY', { reason: 'outside [2, P-2]' });
    return bigIntToBytes(modPow(y, this.x, DH_PRIME), DH_KEY_LENGTH);
  }
}
