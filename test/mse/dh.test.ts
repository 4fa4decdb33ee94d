import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DH_KEY_LENGTH, DH_PRIME, DhKeyPair, bigIntToBytes, bytesToBigInt, modPow } from '../../src/mse/dh.js';
import { MseError } from '../../src/mse/errors.js';
import { seededRandom } from './helpers.js';

test('DH: the prime is the 768-bit MSE prime', () => {
  assert.equal(DH_PRIME.toString(2).length, 768);
  assert.equal(bigIntToBytes(DH_PRIME, 96).subarray(0, 8).toString('hex'), 'ffffffffffffffff');
  assert.equal(bigIntToBytes(DH_PRIME, 96).subarray(88).toString('hex'), '0000000000090563');
});

test('DH: two of our sides agree on the secret; keys are 96 bytes big-endian', () => {
  const random = seededRandom(7);
  for (let i = 0; i < 5; i++) {
    const a = new DhKeyPair(random(20));
    const b = new DhKeyPair(random(20));
    assert.equal(a.publicKey.length, DH_KEY_LENGTH);
    const sa = a.sharedSecret(b.publicKey);
    const sb = b.sharedSecret(a.publicKey);
    assert.ok(Buffer.isBuffer(sa) && Buffer.isBuffer(sb));
    assert.equal(sa.length, DH_KEY_LENGTH);
    assert.deepEqual(sa, sb);
  }
});

test('DH: X = 1 gives Y = 2 (left-padded to 96 bytes); modPow matches small cases', () => {
  const one = Buffer.alloc(20);
  one[19] = 1;
  const y = new DhKeyPair(one).publicKey;
  assert.equal(y.length, 96);
  assert.equal(bytesToBigInt(y), 2n);
  assert.equal(modPow(3n, 200n, 1000n), 3n ** 200n % 1000n);
  assert.equal(modPow(5n, 0n, 7n), 1n);
});

test('DH: degenerate or wrong-sized remote keys are error values', () => {
  const pair = new DhKeyPair(seededRandom(1)(20));
  for (const bad of [0n, 1n, DH_PRIME - 1n, DH_PRIME, 2n ** 768n - 1n]) {
    const r = pair.sharedSecret(bigIntToBytes(bad, 96));
    assert.ok(r instanceof MseError && r.code === 'EMSE_BAD_PUBLIC_KEY', `key ${bad}`);
  }
  const short = pair.sharedSecret(Buffer.alloc(95, 7));
  assert.ok(short instanceof MseError && short.code === 'EMSE_BAD_PUBLIC_KEY');
  assert.ok(Buffer.isBuffer(pair.sharedSecret(bigIntToBytes(2n, 96))));
  assert.ok(Buffer.isBuffer(pair.sharedSecret(bigIntToBytes(DH_PRIME - 2n, 96))));
});
