/**
 * Compact node info: a 20-byte id followed by a compact peer address, 26 bytes for IPv4
 * (BEP 5 `nodes`) and 38 for IPv6 (BEP 32 `nodes6`). The address part is the BEP 23/7
 * layout already spoken by the tracker layer, so its codecs are reused here.
 */
import { isIPv4 } from 'node:net';
import { encodeCompactPeers, parseCompactPeers, type TrackerPeer } from '../tracker/compact.js';
import { ID_LENGTH } from './id.js';

export interface NodeInfo {
  readonly id: Buffer;
  readonly host: string;
  readonly port: number;
}

export type Family = 4 | 6;

export function familyOf(host: string): Family {
  return isIPv4(host) ? 4 : 6;
}

export function compactNodeSize(family: Family): number {
  return ID_LENGTH + (family === 4 ? 6 : 18);
}

export function compactAddressSize(family: Family): number {
  return family === 4 ? 6 : 18;
}

/**
 * Decodes at most `max` nodes (the rest is ignored before allocation). The caller has checked
 * that the length is a multiple of the entry size. Entries with port 0 are skipped.
 */
export function decodeCompactNodes(bytes: Buffer, family: Family, max: number): NodeInfo[] {
  const size = compactNodeSize(family);
  const count = Math.min(Math.floor(bytes.length / size), max);
  const out: NodeInfo[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const addr = decodeCompactAddress(bytes.subarray(at + ID_LENGTH, at + size), family);
    if (!addr) continue;
    out.push({ id: Buffer.from(bytes.subarray(at, at + ID_LENGTH)), host: addr.host, port: addr.port });
  }
  return out;
}

export function encodeCompactNodes(nodes: readonly NodeInfo[], family: Family): Buffer {
  const size = compactNodeSize(family);
  const out = Buffer.alloc(nodes.length * size);
  nodes.forEach((n, i) => {
    out.set(n.id, i * size);
    out.set(encodeCompactPeers([n], family), i * size + ID_LENGTH);
  });
  return out;
}

/** One 6- or 18-byte address (a `values` entry or the BEP 42 `ip` field), or undefined. */
export function decodeCompactAddress(bytes: Buffer, family: Family): TrackerPeer | undefined {
  if (bytes.length !== compactAddressSize(family)) return undefined;
  return parseCompactPeers(bytes, family, 'dht', 1)[0];
}

export function encodeCompactAddress(addr: TrackerPeer): Buffer {
  return encodeCompactPeers([addr], familyOf(addr.host));
}
