import { isIP } from 'node:net';
import { isBytes, isDict, isInteger, type BValue } from '../bencode/index.js';
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
    const addr = family === 4 ? ipv4Bytes(p.host) : ipv6Bytes(p.host);
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

function formatIPv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text form: lowercase, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function ipv4Bytes(host: string): Buffer | undefined {
  if (isIP(host) !== 4) return undefined;
  return Buffer.from(host.split('.').map(Number));
}

/** Parses any IPv6 text form (with `::`, or an IPv4 tail) into 16 bytes. */
export function ipv6Bytes(host: string): Buffer | undefined {
  if (isIP(host) !== 6) return undefined;
  let text = host;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const parts = v4[1].split('.').map(Number);
    const hi = ((parts[0] ?? 0) << 8) | (parts[1] ?? 0);
    const lo = ((parts[2] ?? 0) << 8) | (parts[3] ?? 0);
    text = `${text.slice(0, -v4[1].length)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const all = [...headGroups, ...Array<string>(zeros).fill('0'), ...tailGroups];
  if (all.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function normalizeIPv6(host: string): string | undefined {
  const bytes = ipv6Bytes(host);
  return bytes ? formatIPv6(bytes) : undefined;
}
