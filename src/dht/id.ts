import { randomBytes } from 'node:crypto';

/** Node ids and info-hashes are 160-bit; as bigints the XOR metric is one operator. */
export const ID_LENGTH = 20;
export const ID_BITS = 160;

/** Random bytes, injectable so tests can be replayed. */
export type RandomBytes = (n: number) => Buffer;
export const cryptoRandom: RandomBytes = (n) => randomBytes(n);

export function idToBigInt(id: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex') || '0'));
}

export function bigIntToId(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(ID_LENGTH * 2, '0'), 'hex');
}

export function distance(a: Uint8Array, b: Uint8Array): bigint {
  return idToBigInt(a) ^ idToBigInt(b);
}

/** Number of leading bits `a` and `b` share (160 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_LENGTH; i++) {
    const x = (a[i] ?? 0) ^ (b[i] ?? 0);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** A random id that shares exactly `prefix` leading bits with `base` (a target inside one bucket). */
export function randomIdWithPrefix(base: Uint8Array, prefix: number, random: RandomBytes): Buffer {
  const out = random(ID_LENGTH);
  if (prefix >= ID_BITS) return Buffer.from(base);
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) out[i] = base[i]!;
  const bit = prefix & 7;
  // Keep the first `bit` bits of base, flip the next one, leave the rest random.
  const keepMask = (0xff << (8 - bit)) & 0xff;
  const flip = 0x80 >> bit;
  out[full] = (base[full]! & keepMask) | ((base[full]! ^ flip) & flip) | (out[full]! & ~(keepMask | flip) & 0xff);
  return out;
}

export function shortId(id: Uint8Array): string {
  return Buffer.from(id).toString('hex').slice(0, 8);
}
