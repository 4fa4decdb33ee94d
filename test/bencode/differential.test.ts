// Differential check against the npm `bencode` package, used here only as an oracle on inputs
// where both should agree: valid, canonical bencode with ASCII keys and safe integers (the
// package reads integers as floats and keys as UTF-8 text, so outside that set it differs by
// design).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, isDict, isList, type BValue, type Encodable } from '../../src/bencode/index.js';
import { prng, randomBytesUpTo, randomInt, type Random } from '../helpers/random.js';

interface Oracle {
  encode(value: unknown): Uint8Array;
  decode(data: Uint8Array): unknown;
}

let oracle: Oracle;

before(async () => {
  // A computed specifier: the package ships no type declarations, and it is only an oracle.
  const specifier: string = 'bencode';
  const mod = (await import(specifier)) as { default: Oracle };
  oracle = mod.default;
});

const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_';

function randomValue(r: Random, depth: number): Encodable {
  const kind = depth > 4 ? randomInt(r, 2) : randomInt(r, 4);
  if (kind === 0) {
    const mag = [10, 1000, 2 ** 31, Number.MAX_SAFE_INTEGER][randomInt(r, 4)]!;
    return Math.floor(r() * mag) * (r() < 0.3 ? -1 : 1) || 0;
  }
  if (kind === 1) {
    return randomBytesUpTo(r, 29);
  }
  if (kind === 2) return Array.from({ length: randomInt(r, 5) }, () => randomValue(r, depth + 1));
  const obj: { [k: string]: Encodable } = {};
  const n = randomInt(r, 5);
  for (let i = 0; i < n; i++) {
    let key = '';
    for (let j = randomInt(r, 8); j > 0; j--) key += KEY_CHARS[randomInt(r, KEY_CHARS.length)];
    if (key === '__proto__') continue;
    obj[key] = randomValue(r, depth + 1);
  }
  return obj;
}

/** Our decoded value and the oracle's decoded value, in one comparable form. */
function ours(v: BValue): unknown {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (isList(v)) return v.map(ours);
  if (isDict(v)) return Object.fromEntries([...v.entries].map(([k, x]) => [k, ours(x)]));
  return `hex:${v.toString('hex')}`;
}
function theirs(v: unknown): unknown {
  if (typeof v === 'number') return v;
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(theirs);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, theirs(x)]));
  }
  throw new Error(`oracle returned ${typeof v}`);
}

describe('bencode agrees with the npm bencode package (oracle)', () => {
  test('3000 random values: both encoders write the same bytes; both decoders read the same value', () => {
    const r = prng(0xbe9c0de);
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(r, 0);
      const mine = encode(v);
      const other = Buffer.from(oracle.encode(v));
      assert.deepEqual(mine, other, `case ${i}: encoders differ`);
      assert.deepEqual(ours(decode(mine)), theirs(oracle.decode(mine)), `case ${i}: decoders differ`);
    }
  });

  test('known torrent-shaped vectors', () => {
    const inputs = [
      'd8:announce12:http://t/ann4:infod6:lengthi12345e4:name3:a.b12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee',
      'd5:filesld6:lengthi1e4:pathl1:a1:beed6:lengthi0e4:pathl1:ceeee',
      'li-1ei0ei9007199254740991ee',
      'd0:0:e',
    ];
    for (const input of inputs) {
      const bytes = Buffer.from(input, 'latin1');
      assert.deepEqual(ours(decode(bytes)), theirs(oracle.decode(bytes)), input);
      assert.deepEqual(Buffer.from(oracle.encode(oracle.decode(bytes))), encode(decode(bytes)), input);
    }
  });
});
