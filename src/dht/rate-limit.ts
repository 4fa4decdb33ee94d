/**
 * Per-source and global query rate limits (token buckets), so pytor cannot be used to
 * amplify traffic towards a spoofed address and one noisy node cannot take all its time.
 * The table of sources is bounded: when full, the least recently seen source is forgotten.
 */
export interface RateLimits {
  /** Queries per second allowed from one IP, and the burst above that. */
  readonly perSource: number;
  readonly perSourceBurst: number;
  /** Queries per second answered in total. */
  readonly global: number;
  readonly globalBurst: number;
  readonly maxSources: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { perSource: 20, perSourceBurst: 50, global: 500, globalBurst: 1000, maxSources: 10_000 };

interface TokenBucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly sources = new Map<string, TokenBucket>();
  private readonly globalBucket: TokenBucket;
  private readonly limits: RateLimits;

  constructor(now: number, limits: Partial<RateLimits> = {}) {
    this.limits = { ...DEFAULT_RATE_LIMITS, ...limits };
    this.globalBucket = { tokens: this.limits.globalBurst, at: now };
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  private take(b: TokenBucket, rate: number, burst: number, now: number): boolean {
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** True when a query from `ip` may be answered now. */
  allow(ip: string, now: number): boolean {
    let b = this.sources.get(ip);
    if (b) this.sources.delete(ip); // re-inserted below: Map order is recency
    else {
      if (this.sources.size >= this.limits.maxSources) this.sources.delete(this.sources.keys().next().value as string);
      b = { tokens: this.limits.perSourceBurst, at: now };
    }
    this.sources.set(ip, b);
    if (!this.take(b, this.limits.perSource, this.limits.perSourceBurst, now)) return false;
    return this.take(this.globalBucket, this.limits.global, this.limits.globalBurst, now);
  }
}
