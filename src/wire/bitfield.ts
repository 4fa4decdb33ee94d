/**
 * A set of piece indexes in BEP 3 bitfield layout: piece 0 is the high bit of byte 0;
 * spare bits past the last piece are always zero.
 */
import { WireError } from './errors.js';
import { MessageId } from './message.js';

/** Set bits per byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

export class Bitfield {
  readonly pieceCount: number;
  private readonly bytes: Buffer;
  private setCount = 0;

  constructor(pieceCount: number) {
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) {
      throw new WireError('EWIRE_INVALID_ARGUMENT', { argument: 'pieceCount', reason: `${pieceCount} is not a non-negative integer` });
    }
    this.pieceCount = pieceCount;
    this.bytes = Buffer.alloc(Math.ceil(pieceCount / 8));
  }

  /**
   * Reads a peer's bitfield (copied: the result does not alias `buf`). Throws WireError
   * EWIRE_BAD_LENGTH when buf is not ceil(pieceCount/8) bytes, EWIRE_SPARE_BITS when a bit
   * past the last piece is set (BEP 3: drop such peers).
   */
  static fromBuffer(buf: Uint8Array, pieceCount: number): Bitfield {
    const field = new Bitfield(pieceCount);
    const expected = field.bytes.length;
    if (buf.length !== expected) {
      throw new WireError('EWIRE_BAD_LENGTH', { id: MessageId.bitfield, length: 1 + buf.length, expected: 1 + expected, atLeast: false });
    }
    const spare = expected * 8 - pieceCount;
    const lastByte = buf[expected - 1] ?? 0;
    if (spare > 0 && (lastByte & ((1 << spare) - 1)) !== 0) {
      throw new WireError('EWIRE_SPARE_BITS', { pieceCount, lastByte });
    }
    field.bytes.set(buf);
    let count = 0;
    for (let i = 0; i < expected; i++) count += POPCOUNT[field.bytes[i]!]!;
    field.setCount = count;
    return field;
  }

  /** A bitfield with every piece set (BEP 6 have-all, or a finished download). */
  static full(pieceCount: number): Bitfield {
    const field = new Bitfield(pieceCount);
    field.setAll();
    return field;
  }

  /** Number of pieces set. */
  get count(): number {
    return this.setCount;
  }

  /** False for indexes outside 0..pieceCount-1 (a peer's index never makes this throw). */
  get(index: number): boolean {
    if (!(index >= 0 && index < this.pieceCount)) return false;
    return (this.bytes[index >>> 3]! & (0x80 >>> (index & 7))) !== 0;
  }

  set(index: number): void {
    this.check(index);
    const mask = 0x80 >>> (index & 7);
    const byte = this.bytes[index >>> 3]!;
    if ((byte & mask) === 0) {
      this.bytes[index >>> 3] = byte | mask;
      this.setCount++;
    }
  }

  clear(index: number): void {
    this.check(index);
    const mask = 0x80 >>> (index & 7);
    const byte = this.bytes[index >>> 3]!;
    if ((byte & mask) !== 0) {
      this.bytes[index >>> 3] = byte & ~mask;
      this.setCount--;
    }
  }

  setAll(): void {
    this.bytes.fill(0xff);
    const spare = this.bytes.length * 8 - this.pieceCount;
    if (spare > 0) this.bytes[this.bytes.length - 1] = (0xff << spare) & 0xff;
    this.setCount = this.pieceCount;
  }

  clearAll(): void {
    this.bytes.fill(0);
    this.setCount = 0;
  }

  isComplete(): boolean {
    return this.setCount === this.pieceCount;
  }

  isEmpty(): boolean {
    return this.setCount === 0;
  }

  /** A copy in wire layout, ready for a bitfield message. */
  toBuffer(): Buffer {
    return Buffer.from(this.bytes);
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new WireError('EWIRE_BAD_INDEX', { id: MessageId.have, index, pieceCount: this.pieceCount });
    }
  }
}
