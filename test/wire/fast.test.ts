import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedFastSet } from '../../src/wire/fast.js';

const AA = Buffer.alloc(20, 0xaa);

test('BEP 6 example vectors: 1313 pieces, info-hash aa..aa, peer 80.4.4.200', () => {
  assert.deepEqual(allowedFastSet(AA, '80.4.4.200', 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188]);
  assert.deepEqual(allowedFastSet(AA, '80.4.4.200', 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508]);
});

test('the set depends only on the /24 network; IPv4-mapped IPv6 is the same peer', () => {
  const expected = [1059, 431, 808, 1217, 287, 376, 1188];
  assert.deepEqual(allowedFastSet(AA, '80.4.4.1', 1313, 7), expected);
  assert.deepEqual(allowedFastSet(AA, '::ffff:80.4.4.77', 1313, 7), expected);
  assert.notDeepEqual(allowedFastSet(AA, '80.4.5.200', 1313, 7), expected);
  assert.notDeepEqual(allowedFastSet(Buffer.alloc(20, 0xab), '80.4.4.200', 1313, 7), expected);
});

test('k is capped at the piece count, indices are distinct and in range', () => {
  const all = allowedFastSet(AA, '10.0.0.1', 5, 10);
  assert.deepEqual([...all].sort(), [0, 1, 2, 3, 4]);
  const set = allowedFastSet(AA, '10.0.0.1', 100, 50);
  assert.equal(new Set(set).size, 50);
  assert.ok(set.every((i) => Number.isInteger(i) && i >= 0 && i < 100));
  assert.deepEqual(allowedFastSet(AA, '10.0.0.1', 0, 10), []);
  assert.deepEqual(allowedFastSet(AA, '10.0.0.1', 10, 0), []);
});

test('IPv6 and malformed addresses get no set; bad arguments throw', () => {
  assert.deepEqual(allowedFastSet(AA, '2001:db8::1', 1313), []);
  assert.deepEqual(allowedFastSet(AA, '300.1.1.1', 1313), []);
  assert.deepEqual(allowedFastSet(AA, 'example.org', 1313), []);
  assert.throws(() => allowedFastSet(Buffer.alloc(19), '1.2.3.4', 10), RangeError);
  assert.throws(() => allowedFastSet(AA, '1.2.3.4', -1), RangeError);
  assert.throws(() => allowedFastSet(AA, '1.2.3.4', 10, 1.5), RangeError);
});
