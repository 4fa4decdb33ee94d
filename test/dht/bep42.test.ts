import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bep42NodeId, crc32c, isBep42Valid, isLocalAddress } from '../../src/dht/bep42.js';
import { prng, randomBytes } from '../helpers/random.js';

test('crc32c is the Castagnoli CRC (check value of "123456789")', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

// The table of BEP 42: IP, rand, and a valid node id (its middle bytes are random).
const VECTORS: [string, number, string][] = [
  ['124.31.75.21', 1, '5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401'],
  ['21.75.31.124', 86, '5a3ce9c14e7a08645677bbd1cfe7d8f956d53256'],
  ['65.23.51.170', 22, 'a5d43220bc8f112a3d426c84764f8c2a1150e616'],
  ['84.124.73.14', 65, '1b0321dd1bb1fe518101ceef99462b947a01ff41'],
  ['43.213.53.83', 90, 'e56f6cbf5b7c4be0237986d5243b87aa6d51305a'],
];

test('BEP 42 test vectors: generated ids share the 21-bit prefix and last byte; the listed ids are valid', () => {
  const r = prng(7);
  for (const [ip, rand, hex] of VECTORS) {
    const expected = Buffer.from(hex, 'hex');
    const id = bep42NodeId(ip, (n) => randomBytes(r, n), rand);
    assert.equal(id[0], expected[0], ip);
    assert.equal(id[1], expected[1], ip);
    assert.equal(id[2]! & 0xf8, expected[2]! & 0xf8, ip);
    assert.equal(id[19], rand, ip);
    assert.ok(isBep42Valid(expected, ip), `${ip}: listed id should be valid`);
    assert.ok(isBep42Valid(id, ip), `${ip}: generated id should be valid`);
    // One bit off in the prefix, or the id used from another IP: not valid.
    const off = Buffer.from(expected);
    off[1]! ^= 0x01;
    assert.ok(!isBep42Valid(off, ip));
    assert.ok(!isBep42Valid(expected, '8.8.8.8'));
  }
});

test('BEP 42 over IPv6 uses the first 8 bytes; local addresses are exempt', () => {
  const r = prng(9);
  const id = bep42NodeId('2001:4860:4860::8888', (n) => randomBytes(r, n));
  assert.ok(isBep42Valid(id, '2001:4860:4860::8844')); // same /64: same prefix
  assert.ok(!isBep42Valid(id, '2a00:1450:4001::1'));
  for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.16.5.4', '169.254.1.1', '::1', 'fe80::1', 'fd00::5']) {
    assert.ok(isLocalAddress(ip), ip);
    assert.ok(isBep42Valid(Buffer.alloc(20), ip));
  }
  for (const ip of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) assert.ok(!isLocalAddress(ip), ip);
});
