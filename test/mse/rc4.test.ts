import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MSE_DROP, Rc4 } from '../../src/mse/rc4.js';

const enc = (key: string, text: string) => new Rc4(Buffer.from(key, 'latin1')).transform(Buffer.from(text, 'latin1')).toString('hex');

test('RC4 classic vectors (Key/Plaintext, Wiki/pedia, Secret/Attack at dawn)', () => {
  assert.equal(enc('Key', 'Plaintext'), 'bbf316e8d940af0ad3');
  assert.equal(enc('Wiki', 'pedia'), '1021bf0420');
  assert.equal(enc('Secret', 'Attack at dawn'), '45a01f645fc35b383552544b9bf5');
});

// RFC 6229, 128-bit key 0x0102..10: keystream at offsets 0 and 1024 (the MSE drop point),
// cross-checked against OpenSSL's legacy RC4.
const KEY128 = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');

test('RC4 RFC 6229 keystream at offset 0 and after the 1024-byte drop', () => {
  assert.equal(new Rc4(KEY128).transform(Buffer.alloc(16)).toString('hex'), '9ac7cc9a609d1ef7b2932899cde41b97');
  assert.equal(new Rc4(KEY128, MSE_DROP).transform(Buffer.alloc(16)).toString('hex'), 'bdf0324e6083dcc6d3cedd3ca8c53c16');
  // skip() and transform() advance the same keystream.
  const a = new Rc4(KEY128);
  a.transform(Buffer.alloc(1000));
  a.skip(24);
  assert.equal(a.transform(Buffer.alloc(16)).toString('hex'), 'bdf0324e6083dcc6d3cedd3ca8c53c16');
});

test('RC4 transform works in place on a sub-range and round-trips across arbitrary chunking', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff));
  const whole = new Rc4(key, MSE_DROP).transform(Buffer.from(data));
  const pieces = Buffer.from(data);
  const c = new Rc4(key, MSE_DROP);
  for (let at = 0, n = 1; at < pieces.length; at += n, n = (n * 3) % 1001 + 1) c.transform(pieces, at, Math.min(at + n, pieces.length));
  assert.deepEqual(pieces, whole);
  assert.notDeepEqual(whole, data);
  assert.deepEqual(new Rc4(key, MSE_DROP).transform(whole), data);
  const framed = Buffer.concat([Buffer.from('head'), Buffer.from('body'), Buffer.from('tail')]);
  new Rc4(key).transform(framed, 4, 8);
  assert.equal(framed.subarray(0, 4).toString(), 'head');
  assert.equal(framed.subarray(8).toString(), 'tail');
  assert.equal(new Rc4(key).transform(framed.subarray(4, 8)).toString(), 'body');
});

test('RC4 refuses an empty or oversized key', () => {
  assert.throws(() => new Rc4(Buffer.alloc(0)), RangeError);
  assert.throws(() => new Rc4(Buffer.alloc(257)), RangeError);
});
