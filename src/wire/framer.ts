/**
 * Turns a byte stream (socket chunks, any split) into messages. Stateful, no I/O.
 *
 * Hot path: chunks are queued, never concatenated. A message that lies inside one chunk is
 * decoded as views into that chunk; only a message split across chunks is copied, once, into
 * a buffer of exactly its length, and only after its length passed the per-id bound. So a
 * download costs one copy for the ~1 in 4 blocks that straddle a 64 KiB read, and none else.
 *
 * push() takes ownership of the chunk: the caller must not reuse or modify it afterwards
 * (decoded blocks may be views into it).
 */
import { WireError } from './errors.js';
import { decodeHandshake, HANDSHAKE_LENGTH, type HandshakeResult } from './handshake.js';
import {
  checkMessageHeader,
  decodeMessageBody,
  maxMessageLength,
  NEED_MORE,
  type DecodeLimits,
  type DecodeResult,
  type Message,
} from './message.js';

const KEEP_ALIVE_RESULT: DecodeResult = Object.freeze({
  kind: 'message',
  msg: Object.freeze({ type: 'keep-alive' }) as Message,
  consumed: 4,
});

export class Framer {
  private chunks: (Buffer | undefined)[] = [];
  /** Index of the first live chunk in `chunks` (avoids shift() on every message). */
  private head = 0;
  /** Read position inside chunks[head]. */
  private offset = 0;
  private buffered = 0;
  private failure: WireError | null = null;
  private limits: DecodeLimits;
  private maxLength: number;

  constructor(limits: DecodeLimits) {
    this.limits = limits;
    this.maxLength = maxMessageLength(limits);
  }

  /** Bytes received and not yet returned as messages: bound this in the session. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The error that stopped this framer, if any; every later next() returns it again. */
  get error(): WireError | null {
    return this.failure;
  }

  /** New limits, e.g. once a magnet's metadata gives the piece count. Applies to the next message. */
  setLimits(limits: DecodeLimits): void {
    this.limits = limits;
    this.maxLength = maxMessageLength(limits);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Copies whatever is still buffered into memory the framer owns, so the caller may reuse
   * the chunks it pushed: a socket that reads into one shared buffer calls this after each
   * read. Costs at most one partial message of copying.
   */
  detach(): void {
    if (this.buffered === 0) {
      this.chunks = [];
      this.head = 0;
      this.offset = 0;
      return;
    }
    const rest = Buffer.alloc(this.buffered);
    let written = 0;
    for (let i = this.head, from = this.offset; i < this.chunks.length; i++, from = 0) {
      const c = this.chunks[i]!;
      written += c.copy(rest, written, from);
    }
    this.chunks = [rest];
    this.head = 0;
    this.offset = 0;
  }

  /**
   * The peer's 68-byte handshake (call until it is not need-more, before any next()).
   * A wrong protocol prefix is reported as soon as its first wrong byte has arrived.
   */
  nextHandshake(): HandshakeResult {
    if (this.failure) return { kind: 'error', err: this.failure };
    const available = Math.min(this.buffered, HANDSHAKE_LENGTH);
    const result = decodeHandshake(this.peek(available));
    if (result.kind === 'error') this.failure = result.err;
    else if (result.kind === 'handshake') this.skip(HANDSHAKE_LENGTH);
    return result;
  }

  /** The next message, need-more, or the (sticky) error that ends this connection. */
  next(): DecodeResult {
    if (this.failure) return { kind: 'error', err: this.failure };
    if (this.buffered < 4) return NEED_MORE;
    let chunk = this.chunks[this.head]!;
    let at = this.offset;
    const contiguous = chunk.length - at;
    const length = contiguous >= 4 ? chunk.readUInt32BE(at) : this.peek(4).readUInt32BE(0);
    if (length === 0) {
      this.skip(4);
      return KEEP_ALIVE_RESULT;
    }
    if (length > this.maxLength) return this.fail(new WireError('EWIRE_TOO_LONG', { id: null, length, max: this.maxLength }));
    if (this.buffered < 5) return NEED_MORE;
    const id = contiguous >= 5 ? chunk[at + 4]! : this.peek(5)[4]!;
    const headerError = checkMessageHeader(length, id, this.limits);
    if (headerError) return this.fail(headerError);
    const total = 4 + length;
    if (this.buffered < total) return NEED_MORE;
    if (contiguous < total) {
      // Split across chunks: gather exactly this message's bytes once.
      chunk = this.peek(total);
      at = 0;
    }
    const result = decodeMessageBody(chunk, at + 4, length, this.limits);
    if (result.kind === 'error') return this.fail(result.err);
    this.skip(total);
    return result;
  }

  private fail(err: WireError): DecodeResult {
    this.failure = err;
    // Drop the buffered bytes: the connection is over, nothing more will be read from them.
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    return { kind: 'error', err };
  }

  /**
   * The next `n` buffered bytes (n <= bufferedBytes) without consuming them: a view when they
   * lie in one chunk, otherwise a copy of exactly n bytes.
   */
  private peek(n: number): Buffer {
    const first = this.chunks[this.head];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.alloc(n);
    let written = 0;
    let i = this.head;
    let from = this.offset;
    while (written < n) {
      const c = this.chunks[i++]!;
      const take = Math.min(c.length - from, n - written);
      c.copy(out, written, from, from + take);
      written += take;
      from = 0;
    }
    return out;
  }

  /** Consumes n buffered bytes (n <= bufferedBytes). */
  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[this.head]!;
      const left = c.length - this.offset;
      if (n < left) {
        this.offset += n;
        return;
      }
      n -= left;
      this.chunks[this.head] = undefined; // let the chunk be collected
      this.head++;
      this.offset = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
