// Seeded randomness for tests: every run sees the same cases, so a failure reproduces.

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/** mulberry32: a small, fast, seeded 32-bit generator; each call gives a uniform integer in [0, 2^32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform numbers in [0, 1) from mulberry32(seed). */
export function prng(seed: number): Random {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}

/** A uniform integer in [0, n). */
export function randomInt(r: Random, n: number): number {
  return Math.floor(r() * n);
}

/** `n` random bytes. */
export function randomBytes(r: Random, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = randomInt(r, 256);
  return out;
}

/** 0 to `max` random bytes (the length uniform too). */
export function randomBytesUpTo(r: Random, max: number): Buffer {
  return randomBytes(r, randomInt(r, max + 1));
}

/** The same generator with methods, for code that passes one object around (the wire fuzzers). */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Uniform in [0, 2^32). */
  u32(): number {
    return this.next();
  }
  /** Uniform in [0, 1). */
  private readonly float: Random = () => this.u32() / 2 ** 32;
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return randomInt(this.float, n);
  }
  bytes(n: number): Buffer {
    return randomBytes(this.float, n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
