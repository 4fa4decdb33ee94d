// Dispatch by URL scheme, and the per-URL `trackerid` memory BEP 3 asks clients to echo.
import { TrackerError } from './errors.js';
import { httpAnnounce, httpScrape } from './http.js';
import { udpAnnounce, udpScrape } from './udp.js';
import type { AnnounceParams, AnnounceResult, RequestOptions, ScrapeCounts } from './types.js';

const trackerIds = new Map<string, string>();

function schemeOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!m?.[1]) throw new TrackerError('ETRACKER_BAD_URL', url, 'not a URL');
  return m[1].toLowerCase();
}

function checkParams(p: AnnounceParams): void {
  if (p.infoHash.length !== 20) throw new RangeError(`infoHash must be 20 bytes, not ${p.infoHash.length}`);
  if (p.peerId.length !== 20) throw new RangeError(`peerId must be 20 bytes, not ${p.peerId.length}`);
  if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) throw new RangeError(`port ${p.port} out of range`);
}

export async function announce(url: string, params: AnnounceParams, opts: RequestOptions = {}): Promise<AnnounceResult> {
  checkParams(params);
  const scheme = schemeOf(url);
  if (scheme === 'http' || scheme === 'https') {
    const result = await httpAnnounce(url, params, trackerIds.get(url), opts);
    if (result.trackerId !== undefined) trackerIds.set(url, result.trackerId);
    return result;
  }
  if (scheme === 'udp') return udpAnnounce(url, params, opts);
  throw new TrackerError('ETRACKER_UNSUPPORTED', url, `${scheme}: trackers are not supported`);
}

export async function scrape(url: string, infoHashes: Buffer[], opts: RequestOptions = {}): Promise<Map<string, ScrapeCounts>> {
  for (const h of infoHashes) if (h.length !== 20) throw new RangeError(`info-hash must be 20 bytes, not ${h.length}`);
  const scheme = schemeOf(url);
  if (scheme === 'http' || scheme === 'https') return httpScrape(url, infoHashes, opts);
  if (scheme === 'udp') return udpScrape(url, infoHashes, opts);
  throw new TrackerError('ETRACKER_UNSUPPORTED', url, `${scheme}: trackers are not supported`);
}
