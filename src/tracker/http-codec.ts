// BEP 3 / BEP 23 / BEP 7 / BEP 48 over HTTP: building request URLs and reading replies.
// Pure: no I/O, every error names the tracker URL.
import { BencodeError, decode, isBytes, isDict, isInteger, isList, type BDict, type BValue } from '../bencode/index.js';
import { parseCompactPeers, parseDictPeers, MAX_PEERS_PER_REPLY, type TrackerPeer } from './compact.js';
import { TrackerError } from './errors.js';
import { DEFAULT_INTERVAL_S, MAX_MESSAGE_CHARS, type AnnounceParams, type AnnounceResult, type ScrapeCounts } from './types.js';

const UNRESERVED = /[A-Za-z0-9.\-_~]/;

/** Percent-encodes raw bytes (info_hash, peer_id): every byte outside RFC 3986 unreserved becomes %XX. */
export function percentEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Appends a query to a tracker URL that may already carry one (private trackers put a passkey there). */
function withQuery(base: string, query: string): string {
  const hash = base.indexOf('#');
  const clean = hash >= 0 ? base.slice(0, hash) : base;
  return `${clean}${clean.includes('?') ? '&' : '?'}${query}`;
}

export function buildAnnounceUrl(base: string, p: AnnounceParams, trackerId?: string): string {
  const parts = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
  ];
  if (p.event) parts.push(`event=${p.event}`);
  if (p.numwant !== undefined) parts.push(`numwant=${p.numwant}`);
  // Hex, as most clients send it; trackers compare it as an opaque string.
  parts.push(`key=${(p.key >>> 0).toString(16).toUpperCase().padStart(8, '0')}`);
  if (trackerId !== undefined) parts.push(`trackerid=${percentEncodeBytes(Buffer.from(trackerId, 'latin1'))}`);
  return withQuery(base, parts.join('&'));
}

/**
 * BEP 48: the scrape URL is the announce URL with the `announce` that follows the last `/`
 * of the path replaced by `scrape`; without it the tracker has no scrape.
 */
export function scrapeUrlFor(announceUrl: string): string | undefined {
  const q = announceUrl.search(/[?#]/);
  const path = q >= 0 ? announceUrl.slice(0, q) : announceUrl;
  const rest = q >= 0 ? announceUrl.slice(q) : '';
  const slash = path.lastIndexOf('/');
  if (slash < 0 || !path.startsWith('announce', slash + 1)) return undefined;
  return `${path.slice(0, slash + 1)}scrape${path.slice(slash + 1 + 'announce'.length)}${rest}`;
}

export function buildScrapeUrl(scrapeBase: string, infoHashes: readonly Buffer[]): string {
  return withQuery(scrapeBase, infoHashes.map((h) => `info_hash=${percentEncodeBytes(h)}`).join('&'));
}

/** The `failure reason` of a bencoded body, if it is one (used for non-200 replies). */
export function failureReasonIn(body: Uint8Array): string | undefined {
  try {
    const d = decode(body);
    const failure = isDict(d) ? d.get('failure reason') : undefined;
    return isBytes(failure) ? text(failure) : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes the body into the top-level dict, reporting a `failure reason` as ETRACKER_FAILURE. */
function replyDict(body: Uint8Array, url: string): BDict {
  let value: BValue;
  try {
    value = decode(body);
  } catch (err) {
    const why = err instanceof BencodeError ? err.reason : String(err);
    throw new TrackerError('ETRACKER_BAD_REPLY', url, `reply is not bencode (${why}): ${preview(body)}`);
  }
  if (!isDict(value)) throw new TrackerError('ETRACKER_BAD_REPLY', url, 'reply is not a bencoded dictionary');
  const failure = value.get('failure reason');
  if (failure !== undefined) {
    throw new TrackerError('ETRACKER_FAILURE', url, `tracker says: ${isBytes(failure) ? text(failure) : 'failure (no reason given)'}`);
  }
  return value;
}

export function parseAnnounceReply(body: Uint8Array, url: string, maxPeers = MAX_PEERS_PER_REPLY): AnnounceResult {
  const d = replyDict(body, url);
  const interval = optionalCount(d, 'interval', url);
  const result: AnnounceResult = { interval: interval ?? DEFAULT_INTERVAL_S, peers: [] };
  const minInterval = optionalCount(d, 'min interval', url);
  if (minInterval !== undefined) result.minInterval = minInterval;
  const complete = optionalCount(d, 'complete', url);
  if (complete !== undefined) result.complete = complete;
  const incomplete = optionalCount(d, 'incomplete', url);
  if (incomplete !== undefined) result.incomplete = incomplete;
  const warning = d.get('warning message');
  if (isBytes(warning)) result.warning = text(warning);
  const trackerId = d.get('tracker id');
  if (isBytes(trackerId) && trackerId.length <= MAX_MESSAGE_CHARS) result.trackerId = trackerId.toString('latin1');

  const peers: TrackerPeer[] = [];
  const v4 = d.get('peers');
  if (isBytes(v4)) peers.push(...parseCompactPeers(v4, 4, url, maxPeers));
  else if (isList(v4)) peers.push(...parseDictPeers(v4, maxPeers));
  else if (v4 !== undefined) throw new TrackerError('ETRACKER_BAD_REPLY', url, '`peers` is neither a string nor a list');
  const v6 = d.get('peers6');
  if (isBytes(v6)) peers.push(...parseCompactPeers(v6, 6, url, Math.max(0, maxPeers - peers.length)));
  else if (v6 !== undefined) throw new TrackerError('ETRACKER_BAD_REPLY', url, '`peers6` is not a string');
  result.peers = peers;
  return result;
}

/** Most torrents a scrape reply may describe; we never ask for more than a handful. */
const MAX_SCRAPE_FILES = 10_000;

export function parseScrapeReply(body: Uint8Array, url: string): Map<string, ScrapeCounts> {
  const d = replyDict(body, url);
  const files = d.get('files');
  if (!isDict(files)) throw new TrackerError('ETRACKER_BAD_REPLY', url, 'scrape reply has no `files` dictionary');
  if (files.size > MAX_SCRAPE_FILES) throw new TrackerError('ETRACKER_TOO_LARGE', url, `scrape reply lists ${files.size} torrents`);
  const out = new Map<string, ScrapeCounts>();
  for (const [key, stats] of files.entries) {
    const hash = scrapeKeyHash(key);
    if (hash === undefined || !isDict(stats)) continue;
    out.set(hash, {
      complete: optionalCount(stats, 'complete', url) ?? 0,
      incomplete: optionalCount(stats, 'incomplete', url) ?? 0,
      downloaded: optionalCount(stats, 'downloaded', url) ?? 0,
    });
  }
  return out;
}

/**
 * The hex info-hash a `files` key stands for. Keys are the raw 20 bytes (held as latin1).
 * The npm bittorrent-tracker server (v10) UTF-8-encodes those bytes as if they were text;
 * such a key decodes, strictly, back to 20 chars below 0x100, and is accepted as that hash.
 */
function scrapeKeyHash(key: string): string | undefined {
  if (key.length === 20) return Buffer.from(key, 'latin1').toString('hex');
  if (key.length < 21 || key.length > 40) return undefined;
  const raw = Buffer.from(key, 'latin1');
  const chars = raw.toString('utf8');
  if (chars.length !== 20 || !Buffer.from(chars, 'utf8').equals(raw) || /[^\x00-\xff]/.test(chars)) return undefined;
  return Buffer.from(chars, 'latin1').toString('hex');
}

/** A non-negative safe integer field, or undefined when absent. */
function optionalCount(d: BDict, key: string, url: string): number | undefined {
  const v = d.get(key);
  if (v === undefined) return undefined;
  if (!isInteger(v) || typeof v !== 'number' || v < 0) {
    throw new TrackerError('ETRACKER_BAD_REPLY', url, `\`${key}\` is not a non-negative integer`);
  }
  return v;
}

/** Tracker text (failure reason, warning): UTF-8 by convention, bounded. */
function text(bytes: Buffer): string {
  const s = bytes.subarray(0, MAX_MESSAGE_CHARS * 4).toString('utf8');
  return s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}...` : s;
}

/** The first bytes of a garbage reply, so the error shows what came back (often an HTML page). */
function preview(body: Uint8Array): string {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 60)).toString('latin1');
  // eslint-disable-next-line no-control-regex
  const shown = JSON.stringify(head.replace(/[\x00-\x1f\x7f-\xff]/g, '.'));
  return body.byteLength > 60 ? `${shown}...` : body.byteLength === 0 ? 'empty reply' : shown;
}
