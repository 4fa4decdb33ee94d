// One BEP 19 web seed: fetches whole pieces over HTTP(S) ranges and hands back only verified ones.
import http from 'node:http';
import https from 'node:https';
import type { Torrent } from '../metainfo/types.js';
import { pieceSize } from '../metainfo/types.js';
import { verifyPiece } from '../storage/verify.js';
import { WebSeedError } from './errors.js';
import { rangeGet, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_REDIRECTS, DEFAULT_MIN_RATE, type Agents } from './range-get.js';
import { isSupportedWebSeed, pieceRanges, type WebSeedGeometry } from './url.js';

export interface WebSeedOptions {
  /**
   * Keep-alive agents to share (e.g. one per session). Without them the seed makes its own
   * (keepAlive, one socket per origin: a web seed is asked one piece at a time) and
   * destroys them in close().
   */
  readonly agents?: Agents;
  /** No byte for this long fails the request (a stall). Default 20 s. */
  readonly timeoutMs?: number;
  /** A range slower than this on average fails. Default 16 KiB/s. */
  readonly minRateBytesPerSec?: number;
  /** Redirects followed per request. Default 5. */
  readonly maxRedirects?: number;
}

/** What a web seed has done so far: for the status line and the policy. */
export interface WebSeedStats {
  /** Verified piece bytes delivered. */
  readonly bytes: number;
  readonly pieces: number;
  /** Bytes received that failed their piece's hash (counted against the seed). */
  readonly badBytes: number;
  readonly hashFailures: number;
  /** Requests that failed for any reason, hash failures included. */
  readonly failures: number;
}

export type WebSeedTorrent = WebSeedGeometry & Pick<Torrent, 'pieces'>;

/**
 * A web seed of one torrent. `fetchPiece` resolves only with bytes whose SHA-1 matches; every
 * failure is a WebSeedError (with `permanent` telling whether retrying can help). It holds
 * no policy: WebSeedSet decides when a seed may be asked again.
 */
export class WebSeed {
  private readonly agents: Agents;
  private readonly ownAgents: boolean;
  private closed = false;
  private readonly controllers = new Set<AbortController>();
  private s = { bytes: 0, pieces: 0, badBytes: 0, hashFailures: 0, failures: 0 };

  constructor(
    /** The URL as the torrent (url-list) or magnet (ws=) gave it. */
    readonly url: string,
    private readonly torrent: WebSeedTorrent,
    private readonly options: WebSeedOptions = {},
  ) {
    if (!isSupportedWebSeed(url)) throw new WebSeedError('EWEBSEED_URL', url, 'only http: and https: web seeds are supported');
    this.ownAgents = options.agents === undefined;
    this.agents = options.agents ?? {
      http: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 1 }),
    };
  }

  get stats(): WebSeedStats {
    return { ...this.s };
  }

  /**
   * Fetches piece `index` (one ranged GET per file the piece touches, in order) and verifies
   * it. The buffer is allocated once at the piece's size; the range reader never writes past
   * a range, so nothing from the server is buffered beyond that.
   */
  async fetchPiece(index: number, signal?: AbortSignal): Promise<Buffer> {
    if (this.closed) throw new WebSeedError('EWEBSEED_CLOSED', this.url, 'web seed closed');
    const size = pieceSize(this.torrent, index);
    const ranges = pieceRanges(this.url, this.torrent, index);
    // Zero-filled: pad-file bytes are not fetched and must read as zeros.
    const piece = Buffer.alloc(size);
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) controller.abort();
    this.controllers.add(controller);
    let received = 0;
    try {
      for (const range of ranges) {
        await rangeGet(range, piece, {
          agents: this.agents,
          signal: controller.signal,
          idleTimeoutMs: this.options.timeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
          minRateBytesPerSec: this.options.minRateBytesPerSec ?? DEFAULT_MIN_RATE,
          maxRedirects: this.options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
          seedUrl: this.url,
        });
        received += range.length;
      }
    } catch (err) {
      const aborted = err instanceof WebSeedError && err.code === 'EWEBSEED_ABORTED';
      if (aborted && this.closed) throw new WebSeedError('EWEBSEED_CLOSED', this.url, 'web seed closed');
      // A cancel by the caller says nothing about the seed.
      if (!aborted) this.s.failures++;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.controllers.delete(controller);
    }
    if (!verifyPiece(this.torrent, index, piece)) {
      this.s.failures++;
      this.s.hashFailures++;
      this.s.badBytes += received;
      throw new WebSeedError('EWEBSEED_HASH', this.url, `piece ${index} failed its SHA-1 check (${received} bytes discarded)`);
    }
    this.s.bytes += size;
    this.s.pieces++;
    return piece;
  }

  /** Cancels requests in flight and closes the seed's own connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.controllers) c.abort();
    if (this.ownAgents) {
      this.agents.http?.destroy();
      this.agents.https?.destroy();
    }
  }
}
