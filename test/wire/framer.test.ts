import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  Framer,
  HANDSHAKE_LENGTH,
  maxMessageLength,
  type DecodeLimits,
  type DecodeResult,
  type Message,
} from '../../src/wire/index.js';
import { hex, randomMessage, trackAllocations } from './helpers.js';
import { Rng } from '../helpers/random.js';

const LIMITS: DecodeLimits = { pieceCount: 500 };

function drain(framer: Framer, out: Message[]): DecodeResult {
  while (true) {
    const r = framer.next();
    if (r.kind !== 'message') return r;
    out.push(r.msg);
  }
}

/** Feeds `stream` cut at `cuts` and returns every message decoded. */
function decodeChunked(stream: Buffer, sizes: () => number): Message[] {
  const framer = new Framer(LIMITS);
  const out: Message[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = Math.min(stream.length - at, sizes());
    framer.push(stream.subarray(at, at + n));
    at += n;
    const r = drain(framer, out);
    assert.equal(r.kind, 'need-more', r.kind === 'error' ? r.err.message : r.kind);
  }
  assert.equal(framer.bufferedBytes, 0);
  return out;
}

function randomStream(seed: number, count: number): { stream: Buffer; messages: Message[] } {
  const rng = new Rng(seed);
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) messages.push(randomMessage(rng, LIMITS.pieceCount!));
  return { stream: Buffer.concat(messages.map(encodeMessage)), messages };
}

test('the same stream in every chunking gives identical messages', () => {
  const { stream, messages } = randomStream(7, 400);
  const rng = new Rng(99);
  const whole = decodeChunked(stream, () => stream.length);
  assert.deepEqual(whole, messages);
  assert.deepEqual(decodeChunked(stream, () => 1), messages);
  assert.deepEqual(decodeChunked(stream, () => 1 + rng.int(7)), messages);
  assert.deepEqual(decodeChunked(stream, () => 1 + rng.int(40000)), messages);
  assert.deepEqual(decodeChunked(stream, () => 65536), messages);
  for (const size of [2, 3, 4, 5, 13, 4096, 16397]) assert.deepEqual(decodeChunked(stream, () => size), messages, `size ${size}`);
});

test('a message inside one chunk is a view of that chunk; a split one is copied once at its exact length', () => {
  const block = Buffer.alloc(100, 0xab);
  const one = Buffer.concat([encodePieceHeader(1, 0, 100), block]);
  const chunk = Buffer.concat([one, one.subarray(0, 50)]);
  const framer = new Framer(LIMITS);
  framer.push(chunk);
  const first = framer.next();
  assert.equal(first.kind, 'message');
  if (first.kind !== 'message' || first.msg.type !== 'piece') return assert.fail('expected a piece');
  assert.equal(first.msg.block.buffer, chunk.buffer, 'contiguous block is a view');
  assert.equal(first.msg.block.byteOffset, chunk.byteOffset + 13);
  assert.equal(framer.next().kind, 'need-more');
  framer.push(one.subarray(50));
  const { result: second, largest } = trackAllocations(() => framer.next());
  if (second.kind !== 'message' || second.msg.type !== 'piece') return assert.fail('expected a piece');
  assert.notEqual(second.msg.block.buffer, chunk.buffer);
  assert.deepEqual(second.msg.block, block);
  assert.equal(largest, one.length, 'the copy is exactly one message long');
});

test('0xFFFFFFF0 length prefix is an error as soon as 4 bytes arrive, with nothing allocated', () => {
  const framer = new Framer(LIMITS);
  framer.push(hex('ff'));
  assert.equal(framer.next().kind, 'need-more');
  framer.push(hex('fffff0'));
  const { result, largest } = trackAllocations(() => framer.next());
  assert.equal(result.kind, 'error');
  if (result.kind !== 'error') return;
  assert.equal(result.err.code, 'EWIRE_TOO_LONG');
  assert.deepEqual(result.err.details, { id: null, length: 0xfffffff0, max: maxMessageLength(LIMITS) });
  assert.ok(largest <= 4, `allocated ${largest} bytes`);
});

test('per-id bounds apply before the payload is buffered', () => {
  const framer = new Framer(LIMITS);
  // A piece claiming 1 MiB: refused at the 5th byte.
  framer.push(hex('00100000 07'));
  const r = framer.next();
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.err.code, 'EWIRE_TOO_LONG');
});

test('errors are sticky and drop the buffered bytes', () => {
  const framer = new Framer(LIMITS);
  framer.push(Buffer.concat([hex('00000001 0b'), encodeMessage({ type: 'unchoke' })]));
  const first = framer.next();
  assert.equal(first.kind, 'error');
  if (first.kind === 'error') assert.equal(first.err.code, 'EWIRE_UNKNOWN_ID');
  assert.equal(framer.bufferedBytes, 0);
  framer.push(encodeMessage({ type: 'choke' }));
  assert.deepEqual(framer.next(), first);
  assert.equal(framer.error, first.kind === 'error' ? first.err : null);
});

test('bufferedBytes counts bytes not yet returned', () => {
  const framer = new Framer(LIMITS);
  const have = encodeMessage({ type: 'have', index: 3 });
  framer.push(have);
  framer.push(have.subarray(0, 6));
  assert.equal(framer.bufferedBytes, 15);
  assert.equal(framer.next().kind, 'message');
  assert.equal(framer.bufferedBytes, 6);
  assert.equal(framer.next().kind, 'need-more');
  framer.push(Buffer.alloc(0));
  framer.push(have.subarray(6));
  assert.deepEqual(framer.next(), { kind: 'message', msg: { type: 'have', index: 3 }, consumed: 9 });
  assert.equal(framer.bufferedBytes, 0);
});

test('handshake phase then messages, byte by byte', () => {
  const handshake = encodeHandshake({ infoHash: Buffer.alloc(20, 1), peerId: Buffer.alloc(20, 2), fast: true });
  const stream = Buffer.concat([handshake, encodeMessage({ type: 'have-all' }), encodeMessage({ type: 'unchoke' })]);
  const framer = new Framer(LIMITS);
  let at = 0;
  let hs = framer.nextHandshake();
  while (hs.kind === 'need-more') {
    framer.push(stream.subarray(at, at + 1));
    at++;
    hs = framer.nextHandshake();
  }
  assert.equal(hs.kind, 'handshake');
  assert.equal(at, HANDSHAKE_LENGTH);
  if (hs.kind !== 'handshake') return;
  assert.deepEqual(hs.infoHash, Buffer.alloc(20, 1));
  assert.deepEqual(hs.peerId, Buffer.alloc(20, 2));
  framer.push(stream.subarray(at));
  const out: Message[] = [];
  assert.equal(drain(framer, out).kind, 'need-more');
  assert.deepEqual(out, [{ type: 'have-all' }, { type: 'unchoke' }]);
});

test('a wrong handshake is refused at its first byte', () => {
  const framer = new Framer(LIMITS);
  framer.push(Buffer.from('GET / HTTP/1.1\r\n'));
  const r = framer.nextHandshake();
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.deepEqual(r.err.details, { field: 'pstrlen', offset: 0, byte: 0x47 });
  assert.equal(framer.next().kind, 'error');
});

test('setLimits applies the piece count learnt later (magnet)', () => {
  const framer = new Framer({ pieceCount: null });
  framer.push(encodeMessage({ type: 'have', index: 1000 }));
  assert.equal(framer.next().kind, 'message');
  framer.setLimits({ pieceCount: 10 });
  framer.push(encodeMessage({ type: 'have', index: 1000 }));
  const r = framer.next();
  assert.equal(r.kind, 'error');
  if (r.kind === 'error') assert.equal(r.err.code, 'EWIRE_BAD_INDEX');
});

test('many chunks queued at once are consumed in order (queue compaction)', () => {
  const framer = new Framer(LIMITS);
  const messages: Message[] = [];
  for (let i = 0; i < 300; i++) {
    const msg: Message = { type: 'have', index: i % 500 };
    messages.push(msg);
    const wire = encodeMessage(msg);
    // Each message in three chunks.
    framer.push(wire.subarray(0, 2));
    framer.push(wire.subarray(2, 5));
    framer.push(wire.subarray(5));
  }
  const out: Message[] = [];
  assert.equal(drain(framer, out).kind, 'need-more');
  assert.deepEqual(out, messages);
});

test('detach: chunks from one reused read buffer decode like owned chunks', () => {
  const { stream, messages } = randomStream(11, 300);
  const rng = new Rng(5);
  // One buffer, overwritten by every "read", as a socket with a shared onread buffer does.
  const shared = Buffer.alloc(70_000);
  const framer = new Framer(LIMITS);
  const out: Message[] = [];
  for (let at = 0; at < stream.length; ) {
    const n = Math.min(stream.length - at, 1 + rng.int(shared.length));
    stream.copy(shared, 0, at, at + n);
    at += n;
    framer.push(shared.subarray(0, n));
    // Decoded messages are deep-copied before the buffer is reused, as the session copies blocks.
    while (true) {
      const r = framer.next();
      if (r.kind !== 'message') {
        assert.equal(r.kind, 'need-more');
        break;
      }
      out.push(structuredClone(r.msg));
    }
    framer.detach();
    shared.fill(0xee); // whatever the framer kept must not depend on this buffer
  }
  assert.equal(framer.bufferedBytes, 0);
  assert.equal(out.length, messages.length);
  assert.deepEqual(
    out.map((m) => encodeMessage(m)),
    messages.map((m) => encodeMessage(m)),
  );
});
