import { BencodeError } from './errors.js';
import { BDict, type BValue } from './value.js';

export const DEFAULT_MAX_DEPTH = 256;

const CH_D = 0x64; // d
const CH_E = 0x65; // e
const CH_I = 0x69; // i
const CH_L = 0x6c; // l
const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_MINUS = 0x2d;
const CH_COLON = 0x3a;

/** Digits beyond this many cannot be a string length that fits any input we accept. */
const MAX_LENGTH_DIGITS = 15;
/**
 * Integers longer than this are refused: bencode sets no limit, but no real field needs more
 * than 20 digits, and BigInt() of millions of digits takes quadratic time (a hang, not an error).
 */
export const MAX_INTEGER_DIGITS = 256;

export interface DecodeOptions {
  /** Deepest nesting of lists and dicts accepted. */
  readonly maxDepth?: number;
  /**
   * Read the non-canonical bencode that libtorrent and Transmission read in .torrent files:
   * leading zeros in integers and string lengths, and duplicate dictionary keys (the FIRST one
   * wins, as in libtorrent 2.0, whose dict lookup returns the first match). Every bound stays as
   * strict; negative zero, non-digits, missing ends are still refused. What was read this way is
   * reported in `nonCanonical`. Only for .torrent files a user opens: bytes from the network
   * (wire, trackers, KRPC, BEP 9 metadata) are decoded strictly, where one encoding per value
   * matters and nobody produces anything else.
   */
  readonly lenient?: boolean;
}

export type NonCanonicalKind = 'leading-zero-integer' | 'leading-zero-length' | 'duplicate-key';

/** One kind of non-canonical bencode met in lenient mode: where first, and how often. */
export interface NonCanonical {
  readonly kind: NonCanonicalKind;
  /** Byte offset of the first occurrence (the digits, or the second key). */
  readonly at: number;
  readonly count: number;
  /** For 'duplicate-key': the first duplicated key, printable (non-ASCII as `?`, cut at 40). */
  readonly key?: string;
}

export interface DecodedPrefix {
  readonly value: BValue;
  /** Offset just past the value. */
  readonly end: number;
  /** Lenient mode only: at most one entry per kind (bounded whatever the input). */
  readonly nonCanonical?: readonly NonCanonical[];
}

/**
 * Decodes exactly one bencoded value that fills the whole input.
 * Throws BencodeError (with the byte offset) on anything not strictly valid.
 */
export function decode(input: Uint8Array, options: DecodeOptions = {}): BValue {
  const { value, end } = decodePrefix(input, 0, options);
  if (end !== input.length) throw new BencodeError(end, 'trailing bytes after the top-level value');
  return value;
}

/**
 * Decodes one value starting at `offset` and says where it ends; bytes after it are the
 * caller's business (BEP 9 metadata messages carry raw data after a dict).
 */
export function decodePrefix(input: Uint8Array, offset = 0, options: DecodeOptions = {}): DecodedPrefix {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const decoder = new Decoder(buf, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.lenient === true);
  decoder.pos = offset;
  const value = decoder.value(0);
  return options.lenient === true ? { value, end: decoder.pos, nonCanonical: [...decoder.notes.values()] } : { value, end: decoder.pos };
}

class Decoder {
  pos = 0;
  /** One entry per kind, so a file of a million `i00e` costs one entry, not a million. */
  readonly notes = new Map<NonCanonicalKind, NonCanonical>();

  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
    private readonly lenient: boolean,
  ) {}

  /** Refuses in strict mode; in lenient mode counts it and goes on. */
  private nonCanonical(kind: NonCanonicalKind, reason: string, at: number, key?: string): void {
    if (!this.lenient) this.fail(reason, at);
    const seen = this.notes.get(kind);
    this.notes.set(kind, seen ? { ...seen, count: seen.count + 1 } : { kind, at, count: 1, ...(key === undefined ? {} : { key }) });
  }

  private fail(reason: string, at = this.pos): never {
    throw new BencodeError(at, reason);
  }

  private peek(): number {
    const c = this.buf[this.pos];
    if (c === undefined) this.fail('unexpected end of input');
    return c;
  }

  value(depth: number): BValue {
    const c = this.peek();
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) return this.bytes();
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
      return c === CH_L ? this.list(depth + 1) : this.dict(depth + 1);
    }
    return this.fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}, expected a value`);
  }

  private integer(): number | bigint {
    const start = this.pos;
    this.pos++; // 'i'
    let negative = false;
    if (this.peek() === CH_MINUS) {
      negative = true;
      this.pos++;
    }
    const digitsStart = this.pos;
    while (true) {
      const c = this.peek();
      if (c === CH_E) break;
      if (c < CH_0 || c > CH_9) this.fail('non-digit in integer');
      this.pos++;
      if (this.pos - digitsStart > MAX_INTEGER_DIGITS) this.fail(`integer longer than ${MAX_INTEGER_DIGITS} digits`, start);
    }
    const digits = this.pos - digitsStart;
    if (digits === 0) this.fail('empty integer', start);
    if (this.buf[digitsStart] === CH_0) {
      if (digits > 1) this.nonCanonical('leading-zero-integer', 'leading zero in integer', digitsStart);
      if (negative) {
        // Lenient mode still refuses `i-00e`: negative zero has no meaning in either mode.
        let firstNonZero = digitsStart;
        while (firstNonZero < this.pos && this.buf[firstNonZero] === CH_0) firstNonZero++;
        if (firstNonZero === this.pos) this.fail('negative zero', start);
      }
    }
    const text = this.buf.toString('latin1', digitsStart, this.pos);
    this.pos++; // 'e'
    if (digits <= 15) {
      const n = Number(text);
      return negative ? -n : n;
    }
    const big = BigInt(text);
    const value = negative ? -big : big;
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    return value;
  }

  private bytes(): Buffer {
    const start = this.pos;
    while (true) {
      const c = this.peek();
      if (c === CH_COLON) break;
      if (c < CH_0 || c > CH_9) this.fail('non-digit in string length');
      this.pos++;
      if (this.pos - start > MAX_LENGTH_DIGITS) this.fail('string length too large', start);
    }
    if (this.buf[start] === CH_0 && this.pos - start > 1) this.nonCanonical('leading-zero-length', 'leading zero in string length', start);
    const length = Number(this.buf.toString('latin1', start, this.pos));
    this.pos++; // ':'
    if (length > this.buf.length - this.pos) {
      this.fail(`string length ${length} runs past the end of input`, start);
    }
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  private list(depth: number): BValue[] {
    this.pos++; // 'l'
    const out: BValue[] = [];
    while (this.peek() !== CH_E) out.push(this.value(depth));
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    const start = this.pos;
    this.pos++; // 'd'
    const entries = new Map<string, BValue>();
    let sorted = true;
    let previousKey: Buffer | undefined;
    while (this.peek() !== CH_E) {
      const keyAt = this.pos;
      const c = this.peek();
      if (c < CH_0 || c > CH_9) this.fail('dictionary key is not a string');
      const keyBytes = this.bytes();
      const key = keyBytes.toString('latin1');
      const duplicate = entries.has(key);
      if (duplicate) this.nonCanonical('duplicate-key', `duplicate dictionary key "${printable(key)}"`, keyAt, printable(key));
      if (previousKey !== undefined && Buffer.compare(previousKey, keyBytes) > 0) sorted = false;
      previousKey = keyBytes;
      // The value of a duplicate is still decoded (it must be well-formed and bounded), then
      // dropped: the first one wins, as in libtorrent.
      const value = this.value(depth);
      if (!duplicate) entries.set(key, value);
    }
    this.pos++;
    return new BDict(entries, { start, end: this.pos }, sorted);
  }
}

function printable(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.length > 40 ? `${key.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}...` : key.replace(/[^\x20-\x7e]/g, '?');
}
