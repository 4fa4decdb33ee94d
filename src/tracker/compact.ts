import { isIP } from 'node:net';
import { isBytes, isDict, isInteger, type BValue } from '../bencode/index.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../wire/address.js';
import { TrackerError } from './errors.js';

/** A peer as a tracker gave it. IPv6 hosts are written without brackets. */
export interface TrackerPeer {
  readonly host: string;
  readonly port: number;
}

/**
 * Most peers we keep from one reply. A 2 MiB reply could list ~350k compact peers;
 * no session uses more than a few hundred, so the rest are dropped before allocation.
 */
export const MAX_PEERS_PER_REPLY = 2000;

/** BEP 23 (6-byte IPv4 + port) and BEP 7 (18-byte IPv6 + port) peer strings. */
export function parseCompactPeers(
  bytes: Uint8Array,
  family: 4 | 6,
  url: string,
  max = MAX_PEERS_PER_REPLY,
): TrackerPeer[] {
  const size = family === 4 ? 6 : 18;
  if (bytes.length % size !== 0) {
    throw new TrackerError(
      'ETRACKER_BAD_REPLY',
      url,
      `compact ${family === 4 ? 'peers' : 'peers6'} length ${bytes.length} is not a multiple of ${size}`,
    );
  }
  const count = Math.min(bytes.length / size, max);
  const peers: TrackerPeer[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * size;
    const host = family === 4 ? formatIPv4(bytes, at) : formatIPv6(bytes, at);
    const port = ((bytes[at + size - 2] ?? 0) << 8) | (bytes[at + size - 1] ?? 0);
    if (port === 0) continue; // nobody listens on port 0
    peers.push({ host, port });
  }
  return peers;
}

/** Inverse of parseCompactPeers, for tests and fake trackers. */
export function encodeCompactPeers(peers: readonly TrackerPeer[], family: 4 | 6): Buffer {
  const size = family === 4 ? 6 : 18;
  const out = Buffer.alloc(peers.length * size);
  peers.forEach((p, i) => {
    const at = i * size;
    const addr = family === 4 ? parseIPv4(p.host) : ipv6Bytes(p.host);
    if (!addr) throw new RangeError(`${p.host} is not an IPv${family} address`);
    out.set(addr, at);
    out.writeUInt16BE(p.port, at + size - 2);
  });
  return out;
}

/** Longest host name we accept from a dict-list peer (DNS limit). */
const MAX_HOST_LENGTH = 253;
const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/**
 * BEP 3's original form: a list of dicts with `ip` (an address or DNS name) and `port`.
 * Entries that are not usable are skipped, not fatal: one bad entry should not lose the rest.
 */
export function parseDictPeers(list: readonly BValue[], max = MAX_PEERS_PER_REPLY): TrackerPeer[] {
  const peers: TrackerPeer[] = [];
  for (const item of list) {
    if (peers.length >= max) break;
    if (!isDict(item)) continue;
    const ip = item.get('ip');
    const port = item.get('port');
    if (!isBytes(ip) || ip.length === 0 || ip.length > MAX_HOST_LENGTH) continue;
    if (!isInteger(port) || typeof port !== 'number' || port < 1 || port > 65535) continue;
    let host = ip.toString('latin1');
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const kind = isIP(host);
    if (kind === 6) host = normalizeIPv6(host) ?? host;
    else if (kind === 0 && !HOSTNAME_RE.test(host)) continue;
    peers.push({ host, port });
  }
  return peers;
}

/** "host:port", IPv6 as "[addr]:port": the key for de-duplication and the printed form. */
export function formatPeer(p: TrackerPeer): string {
  return p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`;
}

/**
 * 16 bytes for any IPv6 text form Node accepts (with `::`, or an IPv4 tail). A zone index
 * (`fe80::1%eth0`) is dropped: it names an interface on the tracker's side, not ours.
 */
export function ipv6Bytes(host: string): Buffer | undefined {
  if (isIP(host) !== 6) return undefined;
  return parseIPv6(host.replace(/%.*$/s, '')) ?? undefined;
}

function normalizeIPv6(host: string): string | undefined {
  const bytes = ipv6Bytes(host);
  return bytes ? formatIPv6(bytes, 0) : undefined;
}
