import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeHandshake,
  encodeHandshake,
  HANDSHAKE_LENGTH,
  supportsDht,
  supportsExtensionProtocol,
  supportsFast,
  WireError,
} from '../../src/wire/index.js';
import { hex } from './helpers.js';
import { Rng } from '../helpers/random.js';

const INFO_HASH = hex('0123456789abcdef0123456789abcdef01234567');
const PEER_ID = Buffer.from('-PY0001-abcdefghijkl');

test('known vector: BEP 3 layout with the BEP 10 bit', () => {
  const expected = Buffer.concat([
    hex('13'),
    Buffer.from('BitTorrent protocol'),
    hex('0000000000100000'),
    INFO_HASH,
    PEER_ID,
  ]);
  const wire = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID });
  assert.equal(HANDSHAKE_LENGTH, 68);
  assert.deepEqual(wire, expected);
  const decoded = decodeHandshake(wire);
  assert.deepEqual(decoded, {
    kind: 'handshake',
    reserved: hex('0000000000100000'),
    infoHash: INFO_HASH,
    peerId: PEER_ID,
    consumed: 68,
  });
});

test('reserved bits: fast (reserved[7] & 0x04), DHT (0x01), extension off', () => {
  const wire = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID, fast: true, dht: true, extensionProtocol: false });
  assert.deepEqual(wire.subarray(20, 28), hex('0000000000000005'));
  const r = decodeHandshake(wire);
  if (r.kind !== 'handshake') return assert.fail(r.kind);
  assert.equal(supportsFast(r.reserved), true);
  assert.equal(supportsDht(r.reserved), true);
  assert.equal(supportsExtensionProtocol(r.reserved), false);
  assert.equal(supportsFast(hex('0000000000100000')), false);
  assert.equal(supportsExtensionProtocol(hex('0000000000100000')), true);
});

test('given reserved bytes are kept and our bits OR-ed in', () => {
  const wire = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID, reserved: hex('8000000000000000'), fast: true });
  assert.deepEqual(wire.subarray(20, 28), hex('8000000000100004'));
});

test('need-more until 68 bytes, error at the first wrong byte', () => {
  const wire = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID });
  for (let n = 0; n < 68; n++) assert.equal(decodeHandshake(wire.subarray(0, n)).kind, 'need-more', `at ${n}`);
  for (let i = 0; i < 20; i++) {
    const bad = Buffer.from(wire.subarray(0, i + 1));
    bad[i] = bad[i]! ^ 0x20;
    const r = decodeHandshake(bad);
    assert.equal(r.kind, 'error', `byte ${i}`);
    if (r.kind !== 'error') return;
    assert.equal(r.err.code, 'EWIRE_BAD_HANDSHAKE');
    assert.deepEqual(r.err.details, { field: i === 0 ? 'pstrlen' : 'pstr', offset: i, byte: bad[i] });
  }
});

test('decoded fields are copies, not views of the input', () => {
  const wire = encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID });
  const r = decodeHandshake(wire);
  if (r.kind !== 'handshake') return assert.fail(r.kind);
  wire.fill(0, 28);
  assert.deepEqual(r.infoHash, INFO_HASH);
});

test('round-trip with random hashes, ids and reserved bytes', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const infoHash = rng.bytes(20);
    const peerId = rng.bytes(20);
    const reserved = rng.bytes(8);
    const wire = encodeHandshake({ infoHash, peerId, reserved, extensionProtocol: false });
    const r = decodeHandshake(Buffer.concat([wire, rng.bytes(rng.int(10))]));
    assert.deepEqual(r, { kind: 'handshake', infoHash, peerId, reserved, consumed: 68 });
  }
});

test('encoding refuses wrong-sized inputs', () => {
  assert.throws(() => encodeHandshake({ infoHash: Buffer.alloc(19), peerId: PEER_ID }), (e: unknown) => e instanceof WireError && e.code === 'EWIRE_INVALID_ARGUMENT');
  assert.throws(() => encodeHandshake({ infoHash: INFO_HASH, peerId: Buffer.alloc(21) }), WireError);
  assert.throws(() => encodeHandshake({ infoHash: INFO_HASH, peerId: PEER_ID, reserved: Buffer.alloc(7) }), WireError);
});
