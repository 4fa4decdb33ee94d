import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMessage,
  encodeMessage,
  encodePieceHeader,
  maxMessageLength,
  WireError,
  type DecodeLimits,
  type Message,
} from '../../src/wire/index.js';
import { hex, randomMessage } from './helpers.js';
import { Rng } from '../helpers/random.js';

const LIMITS: DecodeLimits = { pieceCount: 100 };

function decodeOne(bytes: Buffer, limits: DecodeLimits = LIMITS): Message {
  const r = decodeMessage(bytes, 0, limits);
  assert.equal(r.kind, 'message', r.kind === 'error' ? r.err.message : r.kind);
  if (r.kind !== 'message') throw new Error('unreachable');
  assert.equal(r.consumed, bytes.length);
  return r.msg;
}

function decodeError(bytes: Buffer, limits: DecodeLimits = LIMITS): WireError {
  const r = decodeMessage(bytes, 0, limits);
  assert.equal(r.kind, 'error', `expected an error, got ${r.kind}`);
  if (r.kind !== 'error') throw new Error('unreachable');
  assert.ok(r.err instanceof WireError);
  return r.err;
}

// Vectors written by hand from BEP 3 / BEP 6 / BEP 10: <len:4><id:1><payload>.
const VECTORS: [string, string, Message][] = [
  ['keep-alive', '00000000', { type: 'keep-alive' }],
  ['choke', '00000001 00', { type: 'choke' }],
  ['unchoke', '00000001 01', { type: 'unchoke' }],
  ['interested', '00000001 02', { type: 'interested' }],
  ['not-interested', '00000001 03', { type: 'not-interested' }],
  ['have 42', '00000005 04 0000002a', { type: 'have', index: 42 }],
  // 100 pieces -> 13 bytes, last byte uses 4 bits (pieces 96..99).
  ['bitfield', '0000000e 05 ff00ff00ff00ff00ff00ff00f0', { type: 'bitfield', bitfield: hex('ff00ff00ff00ff00ff00ff00f0') }],
  ['request', '0000000d 06 00000001 00004000 00004000', { type: 'request', index: 1, begin: 16384, length: 16384 }],
  ['piece', '0000000c 07 00000063 00000010 616263', { type: 'piece', index: 99, begin: 16, block: Buffer.from('abc') }],
  ['cancel', '0000000d 08 00000002 00000000 00000001', { type: 'cancel', index: 2, begin: 0, length: 1 }],
  ['port', '00000003 09 1ae1', { type: 'port', port: 6881 }],
  ['suggest', '00000005 0d 00000007', { type: 'suggest', index: 7 }],
  ['have-all', '00000001 0e', { type: 'have-all' }],
  ['have-none', '00000001 0f', { type: 'have-none' }],
  ['reject', '0000000d 10 00000003 00008000 00002000', { type: 'reject', index: 3, begin: 32768, length: 8192 }],
  ['allowed-fast', '00000005 11 00000063', { type: 'allowed-fast', index: 99 }],
  ['extended handshake', '00000004 14 00 6465', { type: 'extended', id: 0, payload: Buffer.from('de') }],
  ['extended empty payload', '00000002 14 03', { type: 'extended', id: 3, payload: Buffer.alloc(0) }],
];

for (const [name, bytes, msg] of VECTORS) {
  test(`known vector: ${name} decodes and encodes`, () => {
    const wire = hex(bytes);
    assert.deepEqual(decodeOne(wire), msg);
    assert.deepEqual(encodeMessage(msg), wire);
  });
}

test('every strict prefix of a message is need-more', () => {
  for (const [, bytes] of VECTORS) {
    const wire = hex(bytes);
    for (let n = 0; n < wire.length; n++) {
      assert.equal(decodeMessage(wire.subarray(0, n), 0, LIMITS).kind, 'need-more', `${bytes} cut at ${n}`);
    }
  }
});

test('decodes at an offset and reports consumed including the prefix', () => {
  const wire = Buffer.concat([Buffer.from('xyz'), hex('00000005 04 00000009'), hex('00000001 01')]);
  const first = decodeMessage(wire, 3, LIMITS);
  assert.deepEqual(first, { kind: 'message', msg: { type: 'have', index: 9 }, consumed: 9 });
  const second = decodeMessage(wire, 12, LIMITS);
  assert.deepEqual(second, { kind: 'message', msg: { type: 'unchoke' }, consumed: 5 });
});

test('piece block is a zero-copy view of the input', () => {
  const wire = Buffer.concat([encodePieceHeader(5, 0, 4), Buffer.from('data')]);
  const msg = decodeOne(wire);
  assert.equal(msg.type, 'piece');
  if (msg.type !== 'piece') return;
  assert.equal(msg.block.buffer, wire.buffer);
  assert.equal(msg.block.byteOffset, wire.byteOffset + 13);
  wire[13] = 0x44; // a view sees writes to the input
  assert.equal(msg.block.toString(), 'Data');
});

test('encodePieceHeader equals the first 13 bytes of the encoded piece', () => {
  const block = Buffer.from('0123456789');
  const whole = encodeMessage({ type: 'piece', index: 77, begin: 32768, block });
  assert.deepEqual(encodePieceHeader(77, 32768, block.length), whole.subarray(0, 13));
  assert.deepEqual(whole.subarray(13), block);
});

test('0xFFFFFFF0 length prefix is an error after 4 bytes, before any payload arrives', () => {
  const err = decodeError(hex('fffffff0'));
  assert.equal(err.code, 'EWIRE_TOO_LONG');
  assert.deepEqual(err.details, { id: null, length: 0xfffffff0, max: maxMessageLength(LIMITS) });
  // Lengths are unsigned: 0x80000000 is huge, not negative.
  assert.equal(decodeError(hex('80000000 07')).code, 'EWIRE_TOO_LONG');
});

test('fixed-size messages must have their exact length', () => {
  const cases: [string, number, number][] = [
    ['00000002 00 00', 0, 1],
    ['00000002 0e 00', 14, 1],
    ['00000004 04 000000', 4, 5],
    ['00000006 04 0000000000', 4, 5],
    ['0000000c 06 000000000000000000000001', 6, 13],
    ['0000000e 08 0000000000000000000000000100', 8, 13],
    ['0000000c 10 000000000000000000000001', 16, 13],
    ['00000002 09 1a', 9, 3],
    ['00000004 0d 000000', 13, 5],
    ['00000006 11 0000000000', 17, 5],
  ];
  for (const [bytes, id, expected] of cases) {
    const wire = hex(bytes);
    const err = decodeError(wire);
    assert.equal(err.code, 'EWIRE_BAD_LENGTH', bytes);
    assert.deepEqual(err.details, { id, length: wire.readUInt32BE(0), expected, atLeast: false });
  }
});

test('a bad length is refused from the header alone, before the payload arrives', () => {
  // request claiming 200 bytes: refused with only 5 bytes present.
  assert.equal(decodeError(hex('000000c8 06')).code, 'EWIRE_BAD_LENGTH');
});

test('bitfield must be exactly ceil(pieceCount/8) bytes', () => {
  assert.deepEqual(decodeError(hex('0000000d 05 000000000000000000000000')).details, { id: 5, length: 13, expected: 14, atLeast: false });
  assert.equal(decodeError(hex('0000000f 05 0000000000000000000000000000')).code, 'EWIRE_BAD_LENGTH');
  // 8 pieces: exactly one byte, no spare bits.
  assert.deepEqual(decodeOne(hex('00000002 05 ff'), { pieceCount: 8 }), { type: 'bitfield', bitfield: hex('ff') });
  // 0 pieces: an empty bitfield.
  assert.deepEqual(decodeOne(hex('00000001 05'), { pieceCount: 0 }), { type: 'bitfield', bitfield: Buffer.alloc(0) });
});

test('bitfield with spare bits set is refused', () => {
  // 100 pieces: the last byte may only use its top 4 bits.
  const err = decodeError(hex('0000000e 05 00000000000000000000000001'));
  assert.equal(err.code, 'EWIRE_SPARE_BITS');
  assert.deepEqual(err.details, { pieceCount: 100, lastByte: 1 });
  assert.equal(decodeError(hex('0000000e 05 00000000000000000000000008')).code, 'EWIRE_SPARE_BITS');
  assert.equal(decodeOne(hex('0000000e 05 000000000000000000000000f0')).type, 'bitfield');
  assert.equal(decodeError(hex('00000002 05 c1'), { pieceCount: 2 }).code, 'EWIRE_SPARE_BITS');
});

test('piece indexes must be below pieceCount', () => {
  for (const bytes of ['00000005 04 00000064', '00000005 0d ffffffff', '00000005 11 00000064', '0000000d 06 00000064 00000000 00004000', '0000000a 07 00000064 00000000 00']) {
    const err = decodeError(hex(bytes));
    assert.equal(err.code, 'EWIRE_BAD_INDEX', bytes);
    assert.equal((err.details as { pieceCount: number }).pieceCount, 100);
  }
  assert.deepEqual(decodeOne(hex('00000005 04 00000063')), { type: 'have', index: 99 });
});

test('request/cancel/reject block length must be 1..maxBlockLength', () => {
  const err = decodeError(hex('0000000d 06 00000000 00000000 00004001'));
  assert.deepEqual(err.details, { id: 6, blockLength: 16385, max: 16384 });
  assert.equal(decodeError(hex('0000000d 08 00000000 00000000 00000000')).code, 'EWIRE_BAD_BLOCK_LENGTH');
  assert.equal(decodeOne(hex('0000000d 10 00000000 00000000 00008000'), { pieceCount: 1, maxBlockLength: 32768 }).type, 'reject');
});

test('piece length is bounded by 9 + maxBlockLength and must carry a block', () => {
  const err = decodeError(hex('0000400a 07'));
  assert.equal(err.code, 'EWIRE_TOO_LONG');
  assert.deepEqual(err.details, { id: 7, length: 16394, max: 16393 });
  assert.equal(decodeError(hex('00000009 07 00000000 00000000')).code, 'EWIRE_BAD_LENGTH');
  const full = encodeMessage({ type: 'piece', index: 0, begin: 0, block: Buffer.alloc(16384, 7) });
  assert.equal(decodeOne(full).type, 'piece');
});

test('extended payload is bounded by maxExtendedLength', () => {
  const limits: DecodeLimits = { pieceCount: 1, maxExtendedLength: 10 };
  assert.equal(decodeOne(hex('0000000c 14 01 00000000000000000000'), limits).type, 'extended');
  const err = decodeError(hex('0000000d 14 01'), limits);
  assert.deepEqual(err.details, { id: 20, length: 13, max: 12 });
  assert.equal(decodeError(hex('00000001 14'), limits).code, 'EWIRE_BAD_LENGTH');
});

test('unknown ids are an error carrying id and length', () => {
  for (const id of [10, 11, 12, 18, 19, 21, 22, 23, 255]) {
    const err = decodeError(Buffer.from([0, 0, 0, 1, id]));
    assert.equal(err.code, 'EWIRE_UNKNOWN_ID');
    assert.deepEqual(err.details, { id, length: 1 });
  }
});

test('with pieceCount unknown (magnet), indexes pass and bitfields are only bounded', () => {
  const limits: DecodeLimits = { pieceCount: null };
  assert.deepEqual(decodeOne(hex('00000005 04 ffffffff'), limits), { type: 'have', index: 0xffffffff });
  assert.equal(decodeOne(hex('00000003 05 ffff'), limits).type, 'bitfield');
  assert.equal(decodeError(hex('00010000 05'), limits).code, 'EWIRE_TOO_LONG');
});

test('error messages are one line naming the message and values', () => {
  const err = decodeError(hex('0000000d 06 00000000 00000000 00004001'));
  assert.equal(err.message, 'request (id 6) message block length 16385 is not in 1..16384');
  assert.equal(decodeError(hex('fffffff0')).message, `message length 4294967280 exceeds the maximum ${maxMessageLength(LIMITS)}`);
});


test('round-trip: random messages of every kind encode then decode to the same value', () => {
  const rng = new Rng(1);
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const pieceCount = 1 + rng.int(3000);
    const msg = randomMessage(rng, pieceCount);
    seen.add(msg.type);
    const wire = encodeMessage(msg);
    const r = decodeMessage(wire, 0, { pieceCount });
    assert.equal(r.kind, 'message', `${msg.type}: ${r.kind === 'error' ? r.err.message : r.kind}`);
    if (r.kind !== 'message') return;
    assert.deepEqual(r.msg, msg);
    assert.equal(r.consumed, wire.length);
  }
  assert.equal(seen.size, 17, 'every message kind was generated');
});

test('encoding refuses fields that do not fit their wire width', () => {
  assert.throws(() => encodeMessage({ type: 'have', index: 2 ** 32 }), RangeError);
  assert.throws(() => encodeMessage({ type: 'port', port: 70000 }), RangeError);
  assert.throws(() => encodeMessage({ type: 'extended', id: 256, payload: Buffer.alloc(0) }), RangeError);
});
