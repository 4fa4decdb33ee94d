/**
 * Web seeds (BEP 19) as sources beside peers: each usable seed is given one whole piece at a
 * time that the picker hands out (claimPiece), so peers and web seeds do not fetch the same
 * piece until nothing else is missing (endgame: then the first to finish a piece wins). A
 * verified piece goes through the downloader's write path like a peer's; a failure gives the
 * piece back to the picker and the seed to its backoff policy (webseed/policy.ts),
 * which drops it with a one-line warning. Bad bytes count against the seed, never a peer.
 */
import createDebug from 'debug';
import { pieceSize, type Torrent } from '../metainfo/index.js';
import { WebSeedSet, type WebSeed, type WebSeedInfo, type WebSeedOptions, type WebSeedSetOptions } from '../webseed/index.js';
import type { TokenBucket } from './bandwidth.js';
import type { PiecePicker } from './picker.js';

const log = createDebug('pytor:session');

/**
 * A failing seed is retried after 1, 2, 4, 8 s and dropped at the fifth failure in a row: a
 * seed answering 500s is gone within about 15 s, while one that hiccups once is kept.
 */
const BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

export interface WebSeedHost {
  readonly torrent: Torrent;
  readonly picker: PiecePicker;
  /** Whether pieces are wanted now (the session is downloading). */
  downloading(): boolean;
  /** Whether verified pieces waiting for the disk have reached their bound. */
  writesFull(): boolean;
  /** A verified piece from a web seed: write it. */
  verifiedPiece(index: number, data: Buffer): void;
  warn(line: string): void;
  /** The client's download limit (absent or rate 0: none). */
  readonly bucket?: TokenBucket;
}

export interface WebSeedDriverOptions {
  readonly seed?: WebSeedOptions;
  readonly set?: Omit<WebSeedSetOptions, 'onWarning'>;
}

export class WebSeedDriver {
  private readonly set: WebSeedSet;
  private readonly running = new Map<WebSeed, AbortController>();
  private closed = false;

  constructor(
    urls: readonly string[],
    private readonly host: WebSeedHost,
    options: WebSeedDriverOptions = {},
  ) {
    const { set } = WebSeedSet.fromUrls(urls, host.torrent, options.seed ?? {}, {
      backoffMs: BACKOFF_MS,
      maxBackoffMs: MAX_BACKOFF_MS,
      ...options.set,
      onWarning: (line) => host.warn(line),
    });
    this.set = set;
  }

  get size(): number {
    return this.set.size;
  }

  /** Seeds not dropped. */
  get alive(): number {
    return this.set.alive;
  }

  info(): WebSeedInfo[] {
    return this.set.info();
  }

  /** Gives each idle, usable seed a piece nobody else is fetching. Called on each tick and after each piece. */
  fill(): void {
    if (this.closed || !this.host.downloading() || this.host.writesFull()) return;
    for (const seed of this.set.usable()) {
      if (this.running.has(seed)) continue;
      const index = this.host.picker.claimPiece();
      if (index === undefined) return;
      void this.run(seed, index);
    }
  }

  private async run(seed: WebSeed, index: number): Promise<void> {
    const controller = new AbortController();
    this.running.set(seed, controller);
    let piece: Buffer | undefined;
    try {
      const bucket = this.host.bucket;
      if (bucket && !bucket.unlimited) await bucket.waitFor(pieceSize(this.host.torrent, index), controller.signal);
      if (!controller.signal.aborted) piece = await this.set.fetch(seed, index, controller.signal);
    } catch (err) {
      log('web seed %s, piece %d: %s', seed.url, index, (err as Error).message);
    } finally {
      this.running.delete(seed);
    }
    // Peers may have finished the piece first (endgame): then this copy is dropped.
    if (piece && !this.closed && this.host.downloading() && this.host.picker.isClaimed(index)) {
      this.host.verifiedPiece(index, piece);
    } else {
      this.host.picker.unclaim(index);
    }
    this.fill();
  }

  /** Cancels every request and closes the seeds' connections. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.running.values()) c.abort();
    this.set.close();
  }
}
