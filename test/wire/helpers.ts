import assert from 'node:assert/strict';
import { WireError, type Message } from '../../src/wire/index.js';
import type { Rng } from '../helpers/random.js';

/** Random byte-level mutations of `input`: flips, inserts, deletes, boundary values, truncation. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let out = Buffer.from(input);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const at = out.length === 0 ? 0 : rng.int(out.length);
    switch (rng.int(7)) {
      case 0:
        if (out.length > 0) out[at] = out[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (out.length > 0) out[at] = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0x14, 0x05, 0x07]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(8)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(8)))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5:
        if (out.length >= at + 4) out.writeUInt32BE(rng.pick([0, 1, 0xffffffff, 0xfffffff0, 0x7fffffff, 0x80000000, rng.u32()]), at);
        break;
      default:
        out = Buffer.concat([out, rng.bytes(rng.int(16))]);
        break;
    }
  }
  return out;
}

/** Asserts `value` is a WireError (with a code and details), not some other throwable. */
export function assertWireError(value: unknown): asserts value is WireError {
  assert.ok(value instanceof WireError, `expected a WireError, got ${String(value)}`);
  assert.match(value.code, /^EWIRE_/);
  assert.equal(typeof value.message, 'string');
}

/**
 * Runs fn while recording the largest Buffer.alloc / allocUnsafe / from(number-length) size
 * requested, so tests can assert nothing allocates past a bound.
 */
export function trackAllocations<T>(fn: () => T): { result: T; largest: number } {
  const original = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  let largest = 0;
  const note = (size: number): void => {
    if (size > largest) largest = size;
  };
  Buffer.alloc = ((size: number, ...rest: unknown[]) => {
    note(size);
    return (original.alloc as (...args: unknown[]) => Buffer)(size, ...rest);
  }) as typeof Buffer.alloc;
  Buffer.allocUnsafe = ((size: number) => {
    note(size);
    return original.allocUnsafe(size);
  }) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = ((size: number) => {
    note(size);
    return original.allocUnsafeSlow(size);
  }) as typeof Buffer.allocUnsafeSlow;
  try {
    return { result: fn(), largest };
  } finally {
    Buffer.alloc = original.alloc;
    Buffer.allocUnsafe = original.allocUnsafe;
    Buffer.allocUnsafeSlow = original.allocUnsafeSlow;
  }
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A random valid message for a torrent of `pieceCount` pieces (blocks up to 16 KiB). */
export function randomMessage(rng: Rng, pieceCount: number): Message {
  const index = rng.int(pieceCount);
  const u32 = () => rng.u32();
  const blockLength = 1 + rng.int(16384);
  switch (rng.int(17)) {
    case 0: return { type: 'keep-alive' };
    case 1: return { type: 'choke' };
    case 2: return { type: 'unchoke' };
    case 3: return { type: 'interested' };
    case 4: return { type: 'not-interested' };
    case 5: return { type: 'have', index };
    case 6: {
      const bits = rng.bytes(Math.ceil(pieceCount / 8));
      const spare = bits.length * 8 - pieceCount;
      if (spare > 0) bits[bits.length - 1]! &= (0xff << spare) & 0xff;
      return { type: 'bitfield', bitfield: bits };
    }
    case 7: return { type: 'request', index, begin: u32(), length: blockLength };
    case 8: return { type: 'piece', index, begin: u32(), block: rng.bytes(1 + rng.int(rng.int(2) === 0 ? 64 : 16384)) };
    case 9: return { type: 'cancel', index, begin: u32(), length: blockLength };
    case 10: return { type: 'port', port: rng.int(65536) };
    case 11: return { type: 'suggest', index };
    case 12: return { type: 'have-all' };
    case 13: return { type: 'have-none' };
    case 14: return { type: 'reject', index, begin: u32(), length: blockLength };
    case 15: return { type: 'allowed-fast', index };
    default: return { type: 'extended', id: rng.int(256), payload: rng.bytes(rng.int(300)) };
  }
}
