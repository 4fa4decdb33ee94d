// Rate limits: one token bucket per direction, shared by every peer and web seed of the client.
//
// How it is meant to be used (and why):
// - Downloads: gate the *issuing of requests*, not the reading of sockets. Before a peer sends
//   `request(index, begin, length)` it awaits `down.waitFor(length)`; a web seed awaits
//   `down.waitFor(pieceBytes)` before its GET. What arrives is what was asked for, so the rate
//   of requests issued is the rate of data received, give or take one round trip. Pausing a
//   socket's reads instead is inaccurate: the kernel's receive buffer (hundreds of KiB) and the
//   peer's send buffer keep delivering, and the peer's pipeline stalls in bursts.
// - Uploads: gate `sendBlock`: before writing a piece message of `length` bytes, await
//   `up.waitFor(length)`.
// - One waitFor at a time per peer (await it, then send, then the next): waiters are served
//   first come, first served, so peers take turns block by block and a peer that queued 500
//   requests at once cannot starve the others. The bucket's burst is small (100 ms of rate, at
//   least one 16 KiB block), so an idle spell never buys a long full-speed burst.
// - Rate 0 means unlimited: take() grants everything and waitFor() resolves at once.
// A request larger than the burst is granted when the bucket holds a burst's worth, and the
// rest is borrowed (the bucket goes negative): nothing waits forever, and the long-run rate
// stays exact.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface TokenBucketOptions {
  /** Milliseconds clock. Default performance.now-like monotonic clock. */
  readonly now?: () => number;
  /** Timer functions (a fake clock's in tests). Default the global ones. */
  readonly timers?: Timers;
  /**
   * Most tokens the bucket holds. Default max(16 KiB, 100 ms of rate). It must hold a whole
   * block for take() callers to ever get one at once.
   */
  readonly burstBytes?: number;
}

/** The default burst: a block, or a tenth of a second of the rate when that is more. */
export const MIN_BURST_BYTES = 16 * 1024;

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Waiter {
  readonly n: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export class TokenBucket {
  private ratePerMs = 0;
  private rateBps = 0;
  private burst = MIN_BURST_BYTES;
  private readonly fixedBurst: number | undefined;
  private tokens = 0;
  private last: number;
  private readonly now: () => number;
  private readonly timers: Timers;
  private readonly waiters: Waiter[] = [];
  private timer: unknown = undefined;

  constructor(rateBytesPerSec: number, options: TokenBucketOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.timers = options.timers ?? defaultTimers;
    if (options.burstBytes !== undefined && !(Number.isFinite(options.burstBytes) && options.burstBytes >= 1)) {
      throw new RangeError(`burstBytes must be at least 1, got ${options.burstBytes}`);
    }
    this.fixedBurst = options.burstBytes;
    this.last = this.now();
    this.applyRate(rateBytesPerSec);
    this.tokens = this.burst;
  }

  /** Bytes per second; 0 = unlimited. */
  get rate(): number {
    return this.rateBps;
  }

  get unlimited(): boolean {
    return this.rateBps === 0;
  }

  /** Bytes waiting in waitFor() calls. */
  get queuedBytes(): number {
    return this.waiters.reduce((s, w) => s + w.n, 0);
  }

  /**
   * Grants up to `n` bytes now, without waiting, and returns how many. Returns 0 while
   * waitFor() callers are queued, so a polling consumer cannot jump the queue.
   */
  take(n: number): number {
    checkBytes(n);
    if (this.unlimited) return n;
    if (this.waiters.length > 0) return 0;
    this.refill();
    const granted = Math.max(0, Math.min(n, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /**
   * Resolves once `n` bytes are granted (first come, first served). Rejects with the signal's
   * reason when it aborts first; the bytes are then not spent.
   */
  waitFor(n: number, signal?: AbortSignal): Promise<void> {
    checkBytes(n);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.unlimited) return Promise.resolve();
    if (this.waiters.length === 0) {
      this.refill();
      if (this.tokens >= Math.min(n, this.burst)) {
        this.tokens -= n;
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal!.reason);
          this.schedule();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** Changes the rate from now on (0 = unlimited, which releases every waiter). */
  setRate(rateBytesPerSec: number): void {
    this.refill(); // tokens earned so far are earned at the old rate
    this.applyRate(rateBytesPerSec);
    this.tokens = Math.min(this.tokens, this.burst);
    this.release();
  }

  /** Rejects every waiter (with `reason`) and stops the timer: for a client shutting down. */
  close(reason: unknown = new Error('rate limiter closed')): void {
    this.cancelTimer();
    for (const w of this.waiters.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(reason);
    }
  }

  private applyRate(rateBytesPerSec: number): void {
    if (!Number.isFinite(rateBytesPerSec) || rateBytesPerSec < 0) {
      throw new RangeError(`rate must be a non-negative number of bytes per second, got ${rateBytesPerSec}`);
    }
    this.rateBps = rateBytesPerSec;
    this.ratePerMs = rateBytesPerSec / 1000;
    this.burst = this.fixedBurst ?? Math.max(MIN_BURST_BYTES, Math.floor(rateBytesPerSec / 10));
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last);
    this.last = t;
    if (this.unlimited) return;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerMs);
  }

  /** Grants queued waiters in order while the bucket allows, then sets the timer for the next. */
  private release(): void {
    this.refill();
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      if (!this.unlimited) {
        if (this.tokens < Math.min(head.n, this.burst)) break;
        this.tokens -= head.n;
      }
      this.waiters.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    this.cancelTimer();
    const head = this.waiters[0];
    if (!head || this.unlimited) return;
    this.refill();
    const missing = Math.min(head.n, this.burst) - this.tokens;
    // +1 ms: timers may fire a hair early, and a wake-up that finds too few tokens only re-arms.
    const ms = missing <= 0 ? 0 : Math.ceil(missing / this.ratePerMs) + 1;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function checkBytes(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`byte count must be a non-negative integer, got ${n}`);
}
