// BEP 6 allowed-fast set: the pieces a peer may request from us while choked. Pure.
import { createHash } from 'node:crypto';

/** The set size BEP 6 suggests. */
export const DEFAULT_ALLOWED_FAST = 10;

/**
 * The canonical allowed-fast set of BEP 6 for the peer at IPv4 address `ip`:
 *   x = (ip & 0xFFFFFF00) as 4 big-endian bytes, then the 20-byte info-hash;
 *   repeat x = SHA-1(x), and each of its five big-endian u32 words mod `pieceCount` is added
 *   if new, until `k` indices are collected.
 * The /24 mask gives every address of one network the same set. `ip` is dotted IPv4 or an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d); BEP 6 has no provision for IPv6, so any other
 * address gets the empty set. `k` is capped at `pieceCount` (the loop could not end otherwise).
 */
export function allowedFastSet(infoHash: Uint8Array, ip: string, pieceCount: number, k = DEFAULT_ALLOWED_FAST): number[] {
  if (infoHash.length !== 20) throw new RangeError(`info-hash must be 20 bytes, got ${infoHash.length}`);
  if (!Number.isInteger(pieceCount) || pieceCount < 0 || pieceCount > 0xffffffff) throw new RangeError(`bad piece count ${pieceCount}`);
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`bad set size ${k}`);
  const octets = ipv4Octets(ip);
  const want = Math.min(k, pieceCount);
  if (!octets || want === 0) return [];
  let x: Buffer = Buffer.concat([Buffer.from([octets[0]!, octets[1]!, octets[2]!, 0]), infoHash]);
  const set: number[] = [];
  const seen = new Set<number>();
  while (set.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && set.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!seen.has(index)) {
        seen.add(index);
        set.push(index);
      }
    }
  }
  return set;
}

/** The four octets of a dotted IPv4 address (optionally IPv4-mapped IPv6), or undefined. */
function ipv4Octets(ip: string): number[] | undefined {
  const m = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(ip.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}
