/**
 * BEP 42: a node id whose first 21 bits are a CRC32-C of the node's external IP (masked) and
 * a 3-bit random r, with r again in the last byte. It makes choosing an id near a target
 * expensive (you would need many IPs). Local addresses are exempt.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { parseIPv4 } from '../wire/address.js';
import { ipv6Bytes } from '../tracker/compact.js';
import { ID_LENGTH, type RandomBytes } from './id.js';

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32-C (Castagnoli), as BEP 42 specifies; Node 20's zlib has only the other CRC32. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** The masked address bytes (4 for IPv4, the first 8 for IPv6), or undefined for non-IP text. */
function maskedIp(ip: string): Buffer | undefined {
  const raw = isIPv4(ip) ? parseIPv4(ip) : isIPv6(ip) ? ipv6Bytes(ip)?.subarray(0, 8) : undefined;
  if (!raw) return undefined;
  const mask = raw.length === 4 ? V4_MASK : V6_MASK;
  return Buffer.from(raw.map((b, i) => b & mask[i]!));
}

function prefixCrc(ip: string, r: number): number | undefined {
  const masked = maskedIp(ip);
  if (!masked) return undefined;
  masked[0]! |= (r & 7) << 5;
  return crc32c(masked);
}

/**
 * Addresses BEP 42 exempts (private, loopback, link-local): nodes there cannot know their
 * external IP, so any id is accepted from them and ours stays random.
 */
export function isLocalAddress(ip: string): boolean {
  if (isIPv4(ip)) {
    const b = parseIPv4(ip)!;
    return (
      b[0] === 10 ||
      b[0] === 127 ||
      (b[0] === 172 && (b[1]! & 0xf0) === 16) ||
      (b[0] === 192 && b[1] === 168) ||
      (b[0] === 169 && b[1] === 254) ||
      b[0] === 0
    );
  }
  const b = ipv6Bytes(ip);
  if (!b) return false;
  if (b.subarray(0, 15).every((x) => x === 0)) return true; // :: and ::1
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return true; // fe80::/10 link-local
  if ((b[0]! & 0xfe) === 0xfc) return true; // fc00::/7 unique local
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return isLocalAddress(`${b[12]}.${b[13]}.${b[14]}.${b[15]}`); // ::ffff:a.b.c.d
  }
  return false;
}

/** A BEP 42 id for `ip`; `rand` (0-255) ends up in the last byte, its low 3 bits in the prefix. */
export function bep42NodeId(ip: string, random: RandomBytes, rand = random(1)[0]!): Buffer {
  const crc = prefixCrc(ip, rand);
  const id = random(ID_LENGTH);
  if (crc === undefined) return id;
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  id[19] = rand & 0xff;
  return id;
}

/** True when `id` is what BEP 42 allows for `ip` (always true for local addresses). */
export function isBep42Valid(id: Uint8Array, ip: string): boolean {
  if (isLocalAddress(ip)) return true;
  if (id.length !== ID_LENGTH) return false;
  const crc = prefixCrc(ip, id[19]!);
  if (crc === undefined) return false;
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
