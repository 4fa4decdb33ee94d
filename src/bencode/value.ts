/** A byte range [start, end) in the decoded input. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * A decoded dictionary. Keys are byte strings, held as latin1 JS strings so that
 * every byte maps to one char and back (lossless) and so that keys such as
 * `__proto__` are plain Map keys that cannot touch any prototype.
 */
export class BDict {
  constructor(
    readonly entries: ReadonlyMap<string, BValue>,
    /** Where the whole `d...e` stands in the input: the info-hash is the SHA-1 of these bytes. */
    readonly span: Span,
    /** False when keys were not in ascending raw-byte order (accepted; real torrents do this). */
    readonly keysSorted: boolean,
  ) {}

  get(key: string): BValue | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Integers outside Number's safe range decode as bigint, never as a rounded number. */
export type BValue = number | bigint | Buffer | BValue[] | BDict;

export function isBytes(v: BValue | undefined): v is Buffer {
  return v instanceof Uint8Array;
}

export function isDict(v: BValue | undefined): v is BDict {
  return v instanceof BDict;
}

export function isList(v: BValue | undefined): v is BValue[] {
  return Array.isArray(v);
}

export function isInteger(v: BValue | undefined): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}
