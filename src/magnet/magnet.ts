/**
 * Magnet links (BEP 9): magnet:?xt=urn:btih:<hash>&dn=<name>&tr=<tracker>&x.pe=<peer>&ws=<web seed>
 * plus BEP 53 `so` (select only). Hybrid links carry `xt=urn:btmh:` beside the btih and are
 * fine; a btmh-only (v2-only) link is refused with its own code.
 *
 * Pure: text in, a bounded typed value out, or a MagnetError naming the bad part.
 */
import { isIP } from 'node:net';
import { decodeBase32 } from './base32.js';
import { MagnetError } from './errors.js';

export const MAX_MAGNET_LENGTH = 64 * 1024;
export const MAX_MAGNET_PARAMS = 2000;
export const MAX_MAGNET_TRACKERS = 200;
export const MAX_MAGNET_PEERS = 200;
export const MAX_MAGNET_WEB_SEEDS = 50;
/** Most file indexes a `so` list may select (ranges expanded). */
export const MAX_SELECT_ONLY = 100_000;
const MAX_NAME_LENGTH = 4096;
const MAX_HOST_LENGTH = 253;

export interface MagnetPeer {
  /** IP literal (IPv6 without brackets) or host name. */
  readonly host: string;
  readonly port: number;
}

export interface Magnet {
  readonly infoHash: Buffer;
  /** Lowercase hex, 40 characters. */
  readonly infoHashHex: string;
  readonly name?: string;
  /** Deduplicated, in link order. */
  readonly trackers: readonly string[];
  readonly peers: readonly MagnetPeer[];
  readonly webSeeds: readonly string[];
  /** BEP 53: file indexes to download, ascending, unique. Absent means all. */
  readonly selectOnly?: readonly number[];
}

export interface MagnetInput {
  readonly infoHashHex: string;
  readonly name?: string;
  readonly trackers?: readonly string[];
  readonly webSeeds?: readonly string[];
  readonly peers?: readonly MagnetPeer[];
}

const TRACKER_SCHEMES = new Set(['http:', 'https:', 'udp:', 'ws:', 'wss:']);
const WEB_SEED_SCHEMES = new Set(['http:', 'https:']);

export function parseMagnet(uri: string): Magnet {
  if (typeof uri !== 'string') throw new MagnetError('uri', 'not a string');
  if (uri.length > MAX_MAGNET_LENGTH) throw new MagnetError('uri', `${uri.length} characters exceed ${MAX_MAGNET_LENGTH}`);
  const text = uri.trim();
  if (!/^magnet:\?/i.test(text)) throw new MagnetError('uri', 'does not start with "magnet:?"', text);
  const params = text.slice('magnet:?'.length).split('&');
  if (params.length > MAX_MAGNET_PARAMS) throw new MagnetError('uri', `${params.length} parameters exceed ${MAX_MAGNET_PARAMS}`);

  let infoHash: Buffer | undefined;
  let sawV2 = false;
  let name: string | undefined;
  const trackers: string[] = [];
  const peers: MagnetPeer[] = [];
  const webSeeds: string[] = [];
  let selectOnly: number[] | undefined;

  for (const param of params) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    const rawKey = eq < 0 ? param : param.slice(0, eq);
    const rawValue = eq < 0 ? '' : param.slice(eq + 1);
    // Old links number repeated keys: tr.1, tr.2, xt.1.
    const key = rawKey.toLowerCase().replace(/^(xt|tr|ws|dn)\.\d+$/, '$1');
    switch (key) {
      case 'xt': {
        const value = unescape(key, rawValue);
        const lower = value.toLowerCase();
        if (lower.startsWith('urn:btmh:')) {
          sawV2 = true;
        } else if (lower.startsWith('urn:btih:')) {
          const hash = parseInfoHash(value.slice('urn:btih:'.length));
          if (infoHash && !infoHash.equals(hash)) throw new MagnetError('xt', 'two different urn:btih info-hashes', value);
          infoHash = hash;
        }
        break;
      }
      case 'dn':
        if (name === undefined) {
          const value = unescape(key, rawValue.replace(/\+/g, ' '));
          if (value.length > MAX_NAME_LENGTH) throw new MagnetError('dn', `${value.length} characters exceed ${MAX_NAME_LENGTH}`);
          name = value;
        }
        break;
      case 'tr': {
        const value = checkUrl('tr', unescape(key, rawValue), TRACKER_SCHEMES);
        if (!trackers.includes(value)) {
          if (trackers.length >= MAX_MAGNET_TRACKERS) throw new MagnetError('tr', `more than ${MAX_MAGNET_TRACKERS} trackers`);
          trackers.push(value);
        }
        break;
      }
      case 'ws': {
        const value = checkUrl('ws', unescape(key, rawValue), WEB_SEED_SCHEMES);
        if (!webSeeds.includes(value)) {
          if (webSeeds.length >= MAX_MAGNET_WEB_SEEDS) throw new MagnetError('ws', `more than ${MAX_MAGNET_WEB_SEEDS} web seeds`);
          webSeeds.push(value);
        }
        break;
      }
      case 'x.pe': {
        const peer = parsePeer(unescape(key, rawValue));
        if (!peers.some((p) => p.host === peer.host && p.port === peer.port)) {
          if (peers.length >= MAX_MAGNET_PEERS) throw new MagnetError('x.pe', `more than ${MAX_MAGNET_PEERS} peers`);
          peers.push(peer);
        }
        break;
      }
      case 'so':
        selectOnly = parseSelectOnly(unescape(key, rawValue));
        break;
      default:
        // xl, as, xs, kt, mt, x.* and the like: not needed to download; ignored.
        break;
    }
  }

  if (!infoHash) {
    if (sawV2) throw new MagnetError('xt', 'v2-only magnet links are not supported yet', undefined, 'EMAGNET_V2_ONLY');
    throw new MagnetError('xt', 'no urn:btih info-hash');
  }
  const magnet: { -readonly [K in keyof Magnet]: Magnet[K] } = {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    trackers,
    peers,
    webSeeds,
  };
  if (name !== undefined) magnet.name = name;
  if (selectOnly !== undefined) magnet.selectOnly = selectOnly;
  return magnet;
}

/** Builds a magnet link that parseMagnet reads back to the same values. */
export function formatMagnet(input: MagnetInput): string {
  if (!/^[0-9a-fA-F]{40}$/.test(input.infoHashHex)) throw new MagnetError('xt', 'info-hash must be 40 hex characters', input.infoHashHex);
  const parts = [`xt=urn:btih:${input.infoHashHex.toLowerCase()}`];
  if (input.name !== undefined) parts.push(`dn=${escape(input.name)}`);
  for (const tracker of input.trackers ?? []) parts.push(`tr=${escape(tracker)}`);
  for (const seed of input.webSeeds ?? []) parts.push(`ws=${escape(seed)}`);
  for (const peer of input.peers ?? []) {
    const host = isIP(peer.host) === 6 ? `[${peer.host}]` : peer.host;
    parts.push(`x.pe=${escape(`${host}:${peer.port}`)}`);
  }
  return `magnet:?${parts.join('&')}`;
}

/** Percent-encodes a value, leaving the characters a query allows and URLs are full of. */
function escape(value: string): string {
  return encodeURIComponent(value).replace(/%(3A|2F|5B|5D|40)/g, (m) => decodeURIComponent(m));
}

function unescape(part: string, value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new MagnetError(part, 'bad percent-encoding', value);
  }
}

function parseInfoHash(text: string): Buffer {
  if (/^[0-9a-fA-F]{40}$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length === 32) {
    const bytes = decodeBase32(text);
    if (bytes) return bytes;
    throw new MagnetError('xt', 'not valid base32', text);
  }
  throw new MagnetError('xt', `info-hash must be 40 hex or 32 base32 characters, got ${text.length}`, text);
}

function checkUrl(part: string, value: string, schemes: ReadonlySet<string>): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MagnetError(part, 'not a URL', value);
  }
  if (!schemes.has(url.protocol)) throw new MagnetError(part, `unsupported scheme ${url.protocol}`, value);
  return value;
}

function parsePeer(value: string): MagnetPeer {
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0 || value[close + 1] !== ':') throw new MagnetError('x.pe', 'expected [ipv6]:port', value);
    host = value.slice(1, close);
    portText = value.slice(close + 2);
    if (isIP(host) !== 6) throw new MagnetError('x.pe', 'not an IPv6 address', value);
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw new MagnetError('x.pe', 'expected host:port', value);
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.length === 0 || host.length > MAX_HOST_LENGTH || !/^[A-Za-z0-9.-]+$/.test(host)) {
      throw new MagnetError('x.pe', 'bad host', value);
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw new MagnetError('x.pe', 'bad port', value);
  const port = Number(portText);
  if (port < 1 || port > 0xffff) throw new MagnetError('x.pe', `port ${port} is not in 1..65535`, value);
  return { host: host.toLowerCase(), port };
}

/** BEP 53: comma-separated indexes and inclusive ranges, e.g. "0,2,4-6". */
function parseSelectOnly(value: string): number[] {
  const selected = new Set<number>();
  for (const item of value.split(',')) {
    const match = /^([0-9]{1,9})(?:-([0-9]{1,9}))?$/.exec(item);
    if (!match) throw new MagnetError('so', 'expected indexes and ranges like 0,2,4-6', value);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new MagnetError('so', `range ${item} runs backwards`, value);
    if (selected.size + (last - first + 1) > MAX_SELECT_ONLY) throw new MagnetError('so', `selects more than ${MAX_SELECT_ONLY} files`, value);
    for (let i = first; i <= last; i++) selected.add(i);
  }
  return [...selected].sort((a, b) => a - b);
}
