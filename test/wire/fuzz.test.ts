/**
 * Mutation fuzzing with a seeded PRNG (same inputs every run): decoders never throw, only
 * return kind 'error' with a WireError; whatever decodes re-encodes to the bytes it came from;
 * nothing allocates past the bound for the limits in force.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeExtendedHandshake,
  decodeHandshake,
  decodeMessage,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeUtMetadata,
  encodeUtPex,
  Framer,
  maxMessageLength,
  type DecodeLimits,
  type Message,
} from '../../src/wire/index.js';
import { assertWireError, mutate, randomMessage, trackAllocations } from './helpers.js';
import { Rng } from '../helpers/random.js';

/** PYTOR_FUZZ_ITERATIONS raises the count for a long local hunt; the default keeps CI quick. */
const ITERATIONS = Number(process.env.PYTOR_FUZZ_ITERATIONS ?? 5000);

function seedStreams(rng: Rng, limits: DecodeLimits, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const messages: Message[] = [];
    for (let k = 0, n = 1 + rng.int(4); k < n; k++) messages.push(randomMessage(rng, limits.pieceCount ?? 1000));
    out.push(Buffer.concat(messages.map(encodeMessage)));
  }
  return out;
}

test('fuzz decodeMessage: never throws, errors are WireErrors, decoded messages re-encode exactly', () => {
  const rng = new Rng(0xdecade);
  const kinds = { message: 0, 'need-more': 0, error: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const limits: DecodeLimits = rng.pick([{ pieceCount: 1 + rng.int(2000) }, { pieceCount: null }, { pieceCount: 9, maxBlockLength: 100, maxExtendedLength: 50 }]);
    const seed = seedStreams(rng, limits, 1)[0]!;
    const input = rng.int(20) === 0 ? rng.bytes(rng.int(64)) : mutate(rng, seed);
    const { result: r, largest } = trackAllocations(() => decodeMessage(input, 0, limits));
    kinds[r.kind]++;
    assert.ok(largest <= 4 + maxMessageLength(limits), `allocated ${largest}`);
    if (r.kind === 'error') assertWireError(r.err);
    if (r.kind === 'message') {
      assert.ok(r.consumed >= 4 && r.consumed <= input.length);
      assert.deepEqual(encodeMessage(r.msg), input.subarray(0, r.consumed), `re-encode of ${r.msg.type}`);
    }
  }
  // The fuzzer must reach all three outcomes or it is not exploring.
  assert.ok(kinds.message > 100 && kinds.error > 100 && kinds['need-more'] > 100, JSON.stringify(kinds));
});

test('fuzz Framer: random chunking of mutated streams never throws and agrees with decodeMessage', () => {
  const rng = new Rng(0xf7a3e);
  for (let i = 0; i < ITERATIONS / 5; i++) {
    const limits: DecodeLimits = rng.pick([{ pieceCount: 1 + rng.int(300) }, { pieceCount: null }]);
    const stream = mutate(rng, Buffer.concat(seedStreams(rng, limits, 1 + rng.int(4))));
    const framer = new Framer(limits);
    const fromFramer: Message[] = [];
    let framerEnd: 'need-more' | 'error' = 'need-more';
    const { largest } = trackAllocations(() => {
      for (let at = 0; at < stream.length && framerEnd !== 'error'; ) {
        const n = 1 + rng.int(rng.int(2) === 0 ? 8 : 70000);
        framer.push(stream.subarray(at, at + n));
        at += n;
        for (let r = framer.next(); ; r = framer.next()) {
          if (r.kind === 'message') fromFramer.push(r.msg);
          else {
            if (r.kind === 'error') {
              assertWireError(r.err);
              framerEnd = 'error';
            }
            break;
          }
        }
        assert.ok(framer.bufferedBytes <= 4 + maxMessageLength(limits) + n, 'buffer stays bounded');
      }
    });
    assert.ok(largest <= 4 + maxMessageLength(limits), `framer allocated ${largest}`);
    // Reference: decode the whole stream in one buffer.
    const reference: Message[] = [];
    let offset = 0;
    let referenceEnd: 'need-more' | 'error' = 'need-more';
    while (true) {
      const r = decodeMessage(stream, offset, limits);
      if (r.kind !== 'message') {
        referenceEnd = r.kind;
        break;
      }
      reference.push(r.msg);
      offset += r.consumed;
    }
    assert.deepEqual(fromFramer, reference);
    assert.equal(framerEnd, referenceEnd);
    if (referenceEnd === 'need-more') {
      assert.equal(framer.bufferedBytes, stream.length - offset);
      assert.deepEqual(Buffer.concat(reference.map(encodeMessage)), stream.subarray(0, offset));
    }
  }
});

test('fuzz decodeHandshake: never throws; a decoded handshake re-encodes exactly', () => {
  const rng = new Rng(0x4a5d);
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = encodeHandshake({ infoHash: rng.bytes(20), peerId: rng.bytes(20), reserved: rng.bytes(8), extensionProtocol: false });
    const input = mutate(rng, seed);
    const r = decodeHandshake(input);
    if (r.kind === 'error') assertWireError(r.err);
    if (r.kind === 'handshake') {
      assert.deepEqual(
        encodeHandshake({ infoHash: r.infoHash, peerId: r.peerId, reserved: r.reserved, extensionProtocol: false }),
        input.subarray(0, 68),
      );
    }
  }
});

function randomPex(rng: Rng) {
  const host = () => (rng.int(2) === 0 ? `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}` : `2001:db8::${rng.int(65536).toString(16)}`);
  return {
    added: Array.from({ length: rng.int(5) }, () => ({ host: host(), port: 1 + rng.int(65535), flags: rng.int(32) })),
    dropped: Array.from({ length: rng.int(3) }, () => ({ host: host(), port: 1 + rng.int(65535) })),
  };
}

test('fuzz extension payloads (BEP 10 handshake, ut_metadata, ut_pex): never throw, bounded', () => {
  const rng = new Rng(0xe7e);
  let decoded = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const which = rng.int(3);
    let seed: Buffer;
    if (which === 0) {
      seed = encodeExtendedHandshake({ m: { ut_metadata: rng.int(256), ut_pex: rng.int(256) }, v: 'pytor', p: 1 + rng.int(65535), metadata_size: 1 + rng.int(100000), reqq: 250 });
    } else if (which === 1) {
      const totalSize = 1 + rng.int(100000);
      const piece = rng.int(Math.ceil(totalSize / 16384));
      seed =
        rng.int(2) === 0
          ? encodeUtMetadata({ type: 'data', piece, totalSize, data: rng.bytes(Math.min(16384, totalSize - piece * 16384)) })
          : encodeUtMetadata({ type: rng.pick(['request', 'reject'] as const), piece });
    } else {
      seed = encodeUtPex(randomPex(rng));
    }
    const input = mutate(rng, seed);
    const { result: r, largest } = trackAllocations(() =>
      which === 0 ? decodeExtendedHandshake(input) : which === 1 ? decodeUtMetadata(input) : decodeUtPex(input),
    );
    // The decoders keep views or small copies: never more than the payload plus a little.
    assert.ok(largest <= Math.max(64, input.length), `allocated ${largest} for ${input.length} bytes`);
    if (r.kind === 'error') assertWireError(r.err);
    else decoded++;
  }
  assert.ok(decoded > ITERATIONS / 20, `only ${decoded} inputs decoded`);
});
