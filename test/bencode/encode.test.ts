import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BDict, BencodeEncodeError, decode, encode, type Encodable } from '../../src/bencode/index.js';

const s = (buf: Uint8Array) => Buffer.from(buf).toString('latin1');

describe('bencode encode: known vectors', () => {
  const vectors: [Encodable, string][] = [
    [0, 'i0e'],
    [-0, 'i0e'],
    [42, 'i42e'],
    [-42, 'i-42e'],
    [Number.MAX_SAFE_INTEGER, 'i9007199254740991e'],
    [9007199254740993n, 'i9007199254740993e'],
    [-9007199254740993n, 'i-9007199254740993e'],
    [0n, 'i0e'],
    ['', '0:'],
    ['spam', '4:spam'],
    ['é', '2:\u00c3\u00a9'], // strings are written as UTF-8
    [Buffer.from([0xff, 0x00]), '2:\u00ff\u0000'],
    [new Uint8Array([1, 2, 3]).subarray(1), '2:\u0002\u0003'],
    [[], 'le'],
    [['spam', 42], 'l4:spami42ee'],
    [{}, 'de'],
    [{ foo: 42, bar: 'spam' }, 'd3:bar4:spam3:fooi42ee'],
    [{ b: 1, a: undefined }, 'd1:bi1ee'],
    [new Map<string, Encodable>([['z', 1], ['a', 2]]), 'd1:ai2e1:zi1ee'],
    [new Map<Uint8Array, Encodable>([[Buffer.from([0xff]), 1], [Buffer.from('a'), 2]]), 'd1:ai2e1:\u00ffi1ee'],
  ];
  for (const [value, expected] of vectors) {
    test(`encodes ${expected}`, () => {
      assert.equal(s(encode(value)), expected);
    });
  }
});

describe('bencode encode: canonical form', () => {
  test('dict keys are sorted by raw bytes, not by JS string order', () => {
    // U+FF61 (UTF-8 ef bd a1) vs U+10000 (UTF-8 f0 90 80 80, UTF-16 d800 dc00):
    // UTF-16 order puts U+10000 first, byte order puts U+FF61 first.
    const out = encode({ '\u{10000}': 1, '\uff61': 2 });
    const expected = Buffer.concat([
      Buffer.from('d3:'), Buffer.from('\uff61', 'utf8'), Buffer.from('i2e4:'), Buffer.from('\u{10000}', 'utf8'), Buffer.from('i1ee'),
    ]);
    assert.deepEqual(out, expected);
    // Prefixes sort first.
    assert.equal(s(encode({ ab: 1, a: 2 })), 'd1:ai2e2:abi1ee');
  });
  test('a decoded unsorted dict re-encodes sorted', () => {
    const v = decode(Buffer.from('d1:bi1e1:ai2ee'));
    assert.equal(s(encode(v)), 'd1:ai2e1:bi1ee');
  });
  test('a decoded dict keeps binary keys byte for byte', () => {
    const input = Buffer.concat([Buffer.from('d2:'), Buffer.from([0xc3, 0x28]), Buffer.from('i1ee')]);
    assert.deepEqual(encode(decode(input)), input);
  });
  test('__proto__ as a Map key or own property is an ordinary key', () => {
    assert.equal(s(encode(new Map([['__proto__', 1]]))), 'd9:__proto__i1ee');
    const obj = JSON.parse('{"__proto__": 1}') as { [k: string]: Encodable };
    assert.equal(s(encode(obj)), 'd9:__proto__i1ee');
  });
  test('BDict values encode like their entries', () => {
    const d = new BDict(new Map([['x', Buffer.from('y')]]), { start: 0, end: 0 }, true);
    assert.equal(s(encode([d])), 'ld1:x1:yee');
  });
});

describe('bencode encode: refuses what it cannot write exactly', () => {
  const bad: [string, unknown][] = [
    ['a float', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['an unsafe number', 2 ** 60],
    ['a boolean', true],
    ['null', null],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a nested float', { a: [1, 2.5] }],
  ];
  for (const [label, value] of bad) {
    test(label, () => {
      assert.throws(() => encode(value as Encodable), (err: unknown) => {
        assert.ok(err instanceof BencodeEncodeError);
        assert.equal(err.code, 'EBENCODE_ENCODE');
        return true;
      });
    });
  }
  test('the error names where the bad value was', () => {
    assert.throws(() => encode({ a: [1, 2.5] }), /a\[1\]/);
  });
  test('duplicate keys after UTF-8 conversion are refused', () => {
    const m = new Map<string | Uint8Array, Encodable>([['a', 1], [Buffer.from('a'), 2]]);
    assert.throws(() => encode(m), BencodeEncodeError);
  });
});
