// Which web seeds may be asked now: exponential backoff after a failure, dropped for good
// after too many failures in a row, a permanent failure or repeated bad data.
import createDebug from 'debug';
import { WebSeedError } from './errors.js';
import { isSupportedWebSeed } from './url.js';
import { WebSeed, type WebSeedOptions, type WebSeedStats, type WebSeedTorrent } from './webseed.js';

const log = createDebug('pytor:webseed');

export interface WebSeedSetOptions {
  /** Milliseconds clock (injected in tests). Default Date.now. */
  readonly now?: () => number;
  /** Consecutive failures after which a seed is dropped. Default 5. */
  readonly maxFailures?: number;
  /** Backoff after the first failure; doubles with each further one. Default 5 s. */
  readonly backoffMs?: number;
  /** Longest backoff. Default 5 min. */
  readonly maxBackoffMs?: number;
  /**
   * Pieces failing their hash after which a seed is dropped. BEP 19 says to discard a seed
   * whose data fails; the default 2 forgives one (a file replaced while we read it). Default 2.
   */
  readonly maxHashFailures?: number;
  /** One line per dropped seed (the CLI escapes and prints it). */
  readonly onWarning?: (line: string, seed: WebSeed) => void;
}

export type WebSeedState = 'ready' | 'busy' | 'backoff' | 'dropped';

export interface WebSeedInfo {
  readonly url: string;
  readonly state: WebSeedState;
  /** For 'backoff': when it may be asked again (clock ms). */
  readonly retryAt: number | undefined;
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
  readonly stats: WebSeedStats;
}

interface Entry {
  readonly seed: WebSeed;
  busy: boolean;
  failures: number;
  retryAt: number;
  dropped: boolean;
  lastError: string | undefined;
}

export const DEFAULT_MAX_FAILURES = 5;
export const DEFAULT_BACKOFF_MS = 5_000;
export const DEFAULT_MAX_BACKOFF_MS = 300_000;
export const DEFAULT_MAX_HASH_FAILURES = 2;

/** The backoff after `failures` consecutive failures (1, 2, ...): base, 2*base, 4*base, ... up to max. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * The web seeds of one torrent and the policy over them. The session asks `usable()` when it
 * has pieces no peer is fetching, gives each usable seed one piece with `fetch()`, and sets a
 * timer for `nextRetryAt()` when all are backed off. One piece per seed at a time: a web seed is
 * one HTTP connection, and its pipeline is the piece's ranges.
 */
export class WebSeedSet {
  private readonly entries: Entry[];
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxHashFailures: number;

  constructor(seeds: readonly WebSeed[], private readonly options: WebSeedSetOptions = {}) {
    this.entries = seeds.map((seed) => ({ seed, busy: false, failures: 0, retryAt: 0, dropped: false, lastError: undefined }));
    this.now = options.now ?? Date.now;
    this.maxFailures = options.maxFailures ?? DEFAULT_MAX_FAILURES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.maxHashFailures = options.maxHashFailures ?? DEFAULT_MAX_HASH_FAILURES;
  }

  /**
   * One WebSeed per distinct http(s) URL of `urls` (the torrent's url-list, a magnet's ws=).
   * Other schemes are skipped, as BEP 19 asks; `skipped` lists them for a debug line.
   */
  static fromUrls(
    urls: readonly string[],
    torrent: WebSeedTorrent,
    seedOptions: WebSeedOptions = {},
    setOptions: WebSeedSetOptions = {},
  ): { set: WebSeedSet; skipped: string[] } {
    const seeds: WebSeed[] = [];
    const skipped: string[] = [];
    const seen = new Set<string>();
    for (const url of urls) {
      if (seen.has(url)) continue;
      seen.add(url);
      if (isSupportedWebSeed(url)) seeds.push(new WebSeed(url, torrent, seedOptions));
      else skipped.push(url);
    }
    if (skipped.length > 0) log('skipping web seeds with unsupported schemes: %o', skipped);
    return { set: new WebSeedSet(seeds, setOptions), skipped };
  }

  get size(): number {
    return this.entries.length;
  }

  /** Seeds not dropped (busy or backed off included). */
  get alive(): number {
    return this.entries.filter((e) => !e.dropped).length;
  }

  /** Seeds that may be given a piece now: not dropped, not busy, backoff over. */
  usable(): WebSeed[] {
    const now = this.now();
    return this.entries.filter((e) => !e.dropped && !e.busy && e.retryAt <= now).map((e) => e.seed);
  }

  /** The earliest time a backed-off seed becomes usable, or undefined when none is waiting. */
  nextRetryAt(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    for (const e of this.entries) {
      if (e.dropped || e.busy || e.retryAt <= now) continue;
      if (next === undefined || e.retryAt < next) next = e.retryAt;
    }
    return next;
  }

  info(): WebSeedInfo[] {
    const now = this.now();
    return this.entries.map((e) => ({
      url: e.seed.url,
      state: e.dropped ? 'dropped' : e.busy ? 'busy' : e.retryAt > now ? 'backoff' : 'ready',
      retryAt: !e.dropped && e.retryAt > now ? e.retryAt : undefined,
      consecutiveFailures: e.failures,
      lastError: e.lastError,
      stats: e.seed.stats,
    }));
  }

  /**
   * Fetches piece `index` from `seed` and records the outcome. Resolves with the verified
   * piece, or undefined when the seed failed (it is then backed off or dropped, and the
   * piece is free for someone else). A cancel through `signal` is not held against the seed.
   * Throws only for a seed that is not usable now (a bug in the caller).
   */
  async fetch(seed: WebSeed, index: number, signal?: AbortSignal): Promise<Buffer | undefined> {
    const e = this.entries.find((x) => x.seed === seed);
    if (!e) throw new Error(`web seed ${seed.url} is not in this set`);
    if (e.dropped || e.busy || e.retryAt > this.now()) throw new Error(`web seed ${seed.url} is not usable now`);
    e.busy = true;
    try {
      const piece = await seed.fetchPiece(index, signal);
      e.failures = 0;
      e.retryAt = 0;
      return piece;
    } catch (err) {
      if (!(err instanceof WebSeedError)) throw err;
      if (err.code === 'EWEBSEED_ABORTED' || err.code === 'EWEBSEED_CLOSED') return undefined;
      this.recordFailure(e, err);
      return undefined;
    } finally {
      e.busy = false;
    }
  }

  private recordFailure(e: Entry, err: WebSeedError): void {
    e.failures++;
    e.lastError = err.detail;
    const hashFailures = e.seed.stats.hashFailures;
    const why =
      err.permanent ? err.detail
      : err.code === 'EWEBSEED_HASH' && hashFailures >= this.maxHashFailures ? `${hashFailures} pieces failed their hash check`
      : e.failures >= this.maxFailures ? `${e.failures} failures in a row, the last: ${err.detail}`
      : undefined;
    if (why !== undefined) {
      e.dropped = true;
      e.seed.close();
      log('dropped %s: %s', e.seed.url, why);
      this.options.onWarning?.(`web seed ${e.seed.url} dropped: ${why}`, e.seed);
      return;
    }
    const delay = backoffDelay(e.failures, this.backoffMs, this.maxBackoffMs);
    e.retryAt = this.now() + delay;
    log('%s failed (%s); retry in %d ms', e.seed.url, err.detail, delay);
  }

  /** Cancels every request and closes every seed. */
  close(): void {
    for (const e of this.entries) e.seed.close();
  }
}
