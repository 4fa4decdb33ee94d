import type { TrackerPeer } from './compact.js';

export interface AnnounceParams {
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event?: 'started' | 'completed' | 'stopped';
  numwant?: number;
  /** BEP 7 / BEP 15 `key`: lets the tracker know us across IP changes. An unsigned 32-bit value. */
  key: number;
}

export interface AnnounceResult {
  /** Seconds until the next regular announce. */
  interval: number;
  minInterval?: number;
  /** Seeders. */
  complete?: number;
  /** Leechers. */
  incomplete?: number;
  peers: TrackerPeer[];
  warning?: string;
  trackerId?: string;
}

export interface ScrapeCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

export interface RequestOptions {
  /** Whole request, redirects and retransmissions included. Default 15 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** HTTP: time allowed to open the TCP connection (default 10 s, never more than timeoutMs). */
  connectTimeoutMs?: number;
  /** HTTP: redirects followed before giving up (default 5). */
  maxRedirects?: number;
  /** HTTP: reply bytes accepted (default 2 MiB). */
  maxReplyBytes?: number;
  /** UDP: first retransmission delay; BEP 15 says 15 s, tests shorten it. */
  udpRetryBaseMs?: number;
  /** UDP: retransmissions after the first send (BEP 15: up to 8). */
  udpMaxRetries?: number;
}

export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REDIRECTS = 5;
export const MAX_REPLY_BYTES = 2 * 1024 * 1024;
/** Fallback when a reply has no usable `interval` (the value most trackers use). */
export const DEFAULT_INTERVAL_S = 1800;
/** Bound on text we keep from a tracker (failure reason, warning): it is shown to people. */
export const MAX_MESSAGE_CHARS = 1024;
