import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BDict,
  BencodeError,
  decode,
  decodePrefix,
  DEFAULT_MAX_DEPTH,
  isBytes,
  isDict,
  isInteger,
  isList,
  type BValue,
} from '../../src/bencode/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

/** Asserts that decoding `input` throws a BencodeError at `offset` (when given). */
function rejects(input: string | Uint8Array, offset?: number, reason?: RegExp): BencodeError {
  const bytes = typeof input === 'string' ? b(input) : input;
  let caught: unknown;
  try {
    decode(bytes);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${JSON.stringify(String(input).slice(0, 60))} to be rejected`);
  assert.ok(caught instanceof BencodeError, `expected a BencodeError, got ${String(caught)}`);
  assert.equal(caught.code, 'EBENCODE');
  assert.equal(typeof caught.offset, 'number');
  assert.ok(caught.offset >= 0 && caught.offset <= bytes.length, `offset ${caught.offset} is outside the input`);
  assert.match(caught.message, new RegExp(`at byte ${caught.offset}\\b`));
  if (offset !== undefined) assert.equal(caught.offset, offset, `offset for ${JSON.stringify(String(input).slice(0, 60))}`);
  if (reason) assert.match(caught.reason, reason);
  return caught;
}

/** Converts a decoded value to plain JSON-able data for deep comparison. */
function plain(v: BValue): unknown {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (isBytes(v)) return v.toString('latin1');
  if (isList(v)) return v.map(plain);
  return Object.fromEntries([...v.entries].map(([k, x]) => [k, plain(x)]));
}

describe('bencode decode: known vectors', () => {
  const vectors: [string, unknown][] = [
    ['i0e', 0],
    ['i42e', 42],
    ['i-42e', -42],
    ['i1234567890e', 1234567890],
    ['i9007199254740991e', Number.MAX_SAFE_INTEGER],
    ['i-9007199254740991e', Number.MIN_SAFE_INTEGER],
    ['0:', ''],
    ['4:spam', 'spam'],
    ['3:a:b', 'a:b'],
    ['le', []],
    ['de', {}],
    ['l4:spami42ee', ['spam', 42]],
    ['d3:bar4:spam3:fooi42ee', { bar: 'spam', foo: 42 }],
    ['d4:spaml1:a1:bee', { spam: ['a', 'b'] }],
    ['lllelleeee', [[[], [[]]]]],
    ['d1:ad1:bd1:cdeeee', { a: { b: { c: {} } } }],
    ['li-1ei0ei1ee', [-1, 0, 1]],
  ];
  for (const [input, expected] of vectors) {
    test(`decodes ${input}`, () => {
      assert.deepEqual(plain(decode(b(input))), expected);
    });
  }

  test('accepts a Uint8Array that is a view into a larger buffer', () => {
    const backing = b('XXXXd3:fooi7eeYYYY');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 4, 10);
    const v = decode(view);
    assert.ok(isDict(v));
    assert.equal(v.get('foo'), 7);
    assert.deepEqual(v.span, { start: 0, end: 10 });
  });
});

describe('bencode decode: integers', () => {
  test('outside the safe range become bigint, never a rounded number', () => {
    assert.equal(decode(b('i9007199254740993e')), 9007199254740993n);
    assert.equal(decode(b('i-9007199254740993e')), -9007199254740993n);
    assert.equal(decode(b('i9007199254740992e')), 9007199254740992n);
    assert.equal(decode(b('i123456789012345678901234567890e')), 123456789012345678901234567890n);
  });
  test('inside the safe range stay numbers even with 16 digits', () => {
    assert.equal(decode(b('i1000000000000000e')), 1e15);
    assert.equal(typeof decode(b('i1000000000000000e')), 'number');
    assert.equal(decode(b('i-9007199254740991e')), -9007199254740991);
  });
  test('rejects leading zeros', () => {
    rejects('i03e', 1, /leading zero/);
    rejects('i00e', 1, /leading zero/);
    rejects('i-03e', 2, /leading zero/);
  });
  test('rejects negative zero', () => {
    rejects('i-0e', 0, /negative zero/);
  });
  test('rejects empty integers', () => {
    rejects('ie', 0, /empty/);
    rejects('i-e', 0, /empty/);
  });
  test('rejects non-digits', () => {
    rejects('i1a2e', 2, /non-digit/);
    rejects('i+1e', 1, /non-digit/);
    rejects('i1.5e', 2, /non-digit/);
    rejects('i 1e', 1, /non-digit/);
    rejects('i--1e', 2, /non-digit/);
    rejects('i1-e', 2, /non-digit/);
  });
  test('rejects an unterminated integer', () => {
    rejects('i12', 3, /end of input/);
    rejects('i', 1, /end of input/);
    rejects('i-', 2, /end of input/);
  });
  test('rejects absurdly long integers quickly (no quadratic BigInt parse)', () => {
    const digits = '9'.repeat(5_000_000);
    rejects(`i${digits}e`, 0, /longer than/);
    // 256 digits is still accepted, as a bigint.
    assert.equal(decode(b(`i${'9'.repeat(256)}e`)), BigInt('9'.repeat(256)));
  });
});

describe('bencode decode: byte strings', () => {
  test('stay bytes (Buffer), including non-UTF-8 bytes', () => {
    const raw = Buffer.from([0x33, 0x3a, 0xff, 0x00, 0x80]); // "3:" + ff 00 80
    const v = decode(raw);
    assert.ok(Buffer.isBuffer(v));
    assert.deepEqual([...v], [0xff, 0x00, 0x80]);
  });
  test('rejects leading zeros in the length', () => {
    rejects('03:abc', 0, /leading zero/);
    rejects('00:', 0, /leading zero/);
  });
  test('rejects a length past the end of input', () => {
    rejects('5:abc', 0, /past the end/);
    rejects('99999999999:abc', 0, /past the end/);
    rejects('l99999999999:e', 1, /past the end/);
  });
  test('rejects length prefixes too long to be real', () => {
    rejects(`${'9'.repeat(40)}:`, 0, /too large/);
  });
  test('rejects a missing colon and non-digits in the length', () => {
    rejects('3', 1, /end of input/);
    rejects('3abc', 1, /non-digit/);
    rejects('-3:abc', 0, /unexpected byte/);
  });
});

describe('bencode decode: structure', () => {
  test('rejects truncated input', () => {
    rejects('', 0, /end of input/);
    rejects('l', 1, /end of input/);
    rejects('d', 1, /end of input/);
    rejects('li1e', 4, /end of input/);
    rejects('d3:foo', 6, /end of input/);
    rejects('d3:fooi1e', 9, /end of input/);
  });
  test('rejects trailing bytes after the top value', () => {
    rejects('i1ei2e', 3, /trailing/);
    rejects('dex', 2, /trailing/);
    rejects('4:spam\n', 6, /trailing/);
    rejects('lee', 2, /trailing/);
  });
  test('decodePrefix allows trailing bytes and says where the value ends', () => {
    const r = decodePrefix(b('d1:ai1eeTRAILING'));
    assert.equal(r.end, 8);
    const r2 = decodePrefix(b('xxi5eyy'), 2);
    assert.deepEqual(r2, { value: 5, end: 5 });
  });
  test('rejects unknown type bytes', () => {
    rejects('x', 0, /unexpected byte 0x78/);
    rejects('l x e', 1, /unexpected byte 0x20/);
    rejects('e', 0, /unexpected byte/);
  });
  test('rejects dictionary keys that are not strings', () => {
    rejects('di1ei2ee', 1, /key is not a string/);
    rejects('dlei1ee', 1, /key is not a string/);
  });
  test('rejects a dictionary key with no value', () => {
    rejects('d3:fooe', 6, /unexpected byte/);
  });
  test('rejects duplicate dictionary keys, at the second key', () => {
    rejects('d1:ai1e1:ai2ee', 7, /duplicate dictionary key "a"/);
    rejects('d1:ai1e1:bi2e1:ai3ee', 13, /duplicate/);
  });
  test('accepts nesting of exactly 256, rejects 257', () => {
    assert.equal(DEFAULT_MAX_DEPTH, 256);
    const ok = 'l'.repeat(256) + 'e'.repeat(256);
    assert.ok(isList(decode(b(ok))));
    rejects('l'.repeat(257) + 'e'.repeat(257), 256, /nesting deeper than 256/);
    rejects('d1:a'.repeat(257) + 'i1e' + 'e'.repeat(257), undefined, /nesting deeper/);
    // A deep prefix with no end is rejected for depth before running out of input.
    rejects('l'.repeat(100_000), 256, /nesting/);
  });
  test('maxDepth option is honoured', () => {
    assert.throws(() => decode(b('llee'), { maxDepth: 1 }), BencodeError);
    assert.ok(isList(decode(b('llee'), { maxDepth: 2 })));
  });
});

describe('bencode decode: dictionaries', () => {
  test('sorted keys are recorded as sorted', () => {
    const v = decode(b('d1:ai1e1:bi2e2:bbi3ee'));
    assert.ok(v instanceof BDict);
    assert.equal(v.keysSorted, true);
  });
  test('out-of-order keys are accepted but recorded', () => {
    const v = decode(b('d1:bi1e1:ai2ee'));
    assert.ok(v instanceof BDict);
    assert.equal(v.keysSorted, false);
    assert.equal(v.get('a'), 2);
    assert.equal(v.get('b'), 1);
    // keysSorted is per dict: a sorted outer dict may hold an unsorted inner one.
    const outer = decode(b('d1:xd1:bi1e1:ai2eee'));
    assert.ok(isDict(outer));
    assert.equal(outer.keysSorted, true);
    const inner = outer.get('x');
    assert.ok(isDict(inner));
    assert.equal(inner.keysSorted, false);
  });
  test('key order is by raw bytes, not by UTF-16 or locale', () => {
    // 0x7a 'z' < 0xc3 (first byte of "é" in UTF-8): sorted as bytes.
    const sorted = Buffer.concat([b('d1:zi1e2:'), Buffer.from('é', 'utf8'), b('i2ee')]);
    assert.equal((decode(sorted) as BDict).keysSorted, true);
    // A prefix sorts first: "a" < "ab".
    assert.equal((decode(b('d2:abi1e1:ai2ee')) as BDict).keysSorted, false);
  });
  test('spans cover the raw bytes of each dict', () => {
    const input = b('d4:infod1:bi1e1:ai2ee1:zi0ee');
    const v = decode(input);
    assert.ok(isDict(v));
    assert.deepEqual(v.span, { start: 0, end: input.length });
    const info = v.get('info');
    assert.ok(isDict(info));
    assert.equal(input.subarray(info.span.start, info.span.end).toString('latin1'), 'd1:bi1e1:ai2ee');
  });
  test('d9:__proto__d5:admini1eee cannot pollute any prototype', () => {
    const v = decode(b('d9:__proto__d5:admini1eee'));
    assert.ok(isDict(v));
    const proto = v.get('__proto__');
    assert.ok(isDict(proto));
    assert.equal(proto.get('admin'), 1);
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).admin, undefined);
    assert.equal(Object.getPrototypeOf(v), BDict.prototype);
    assert.equal((v as unknown as Record<string, unknown>).admin, undefined);
    for (const key of ['constructor', 'prototype', 'hasOwnProperty', 'toString']) {
      const d = decode(b(`d${key.length}:${key}i1ee`));
      assert.ok(isDict(d));
      assert.equal(d.get(key), 1);
      assert.equal(d.size, 1);
    }
    assert.equal(typeof ({} as { toString: unknown }).toString, 'function');
    // A plain-object key absent from the dict is absent, whatever Object.prototype holds.
    assert.equal(decode(b('de')) instanceof BDict && (decode(b('de')) as BDict).get('toString'), undefined);
  });
  test('keys keep every byte (latin1, lossless)', () => {
    const input = Buffer.concat([b('d2:'), Buffer.from([0xff, 0x00]), b('i1ee')]);
    const v = decode(input);
    assert.ok(isDict(v));
    assert.deepEqual([...v.entries.keys()], ['\u00ff\u0000']);
  });
});

describe('bencode decode: every error is a BencodeError with an offset', () => {
  const bad = [
    '', 'i', 'ie', 'i-0e', 'i03e', '03:abc', 'l', 'd', 'x', '1:', '2:a', 'd1:a', 'di1ei1ee',
    'i1ei1e', 'lle', 'd1:ai1e1:ai1ee', ':', '-1:a', 'i9', '9999999999999999999:',
  ];
  for (const input of bad) {
    test(JSON.stringify(input), () => {
      rejects(input);
    });
  }
  test('type guards agree with the decoded shapes', () => {
    const v = decode(b('li1e1:ale0:dee'));
    assert.ok(isList(v));
    const [i, s, l, bytes, d] = v;
    assert.ok(isInteger(i) && isBytes(s) && isList(l) && isBytes(bytes) && isDict(d));
    assert.ok(!isDict(i) && !isList(s) && !isBytes(l) && !isInteger(d));
    assert.ok(isInteger(decode(b('i99999999999999999999e'))));
  });
});
