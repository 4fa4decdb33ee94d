import { randomBytes as cryptoRandomBytes } from 'node:crypto';

/** Azureus-style client tag: "PT" for pytor, version 0.0.0.1. */
export const PEER_ID_PREFIX = '-PT0001-';

/** A 20-byte peer id: the client tag plus 12 random bytes. Make one per run and reuse it. */
export function makePeerId(randomBytes: (n: number) => Buffer = cryptoRandomBytes): Buffer {
  const tail = randomBytes(12);
  if (tail.length !== 12) throw new RangeError(`randomBytes(12) returned ${tail.length} bytes`);
  return Buffer.concat([Buffer.from(PEER_ID_PREFIX, 'latin1'), tail]);
}

/** A random 32-bit announce `key`, made once per run alongside the peer id. */
export function makeKey(randomBytes: (n: number) => Buffer = cryptoRandomBytes): number {
  return randomBytes(4).readUInt32BE(0);
}
