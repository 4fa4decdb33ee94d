// Property tests: random values (seeded, so every run sees the same cases) must survive
// encode -> decode -> encode unchanged, and random byte strings must either decode to a value
// that re-encodes to the very same bytes or be refused with a BencodeError.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BencodeError, decode, encode, isBytes, isDict, isList, type BValue, type Encodable } from '../../src/bencode/index.js';
import { prng, randomBytesUpTo, randomInt, type Random } from '../helpers/random.js';


function randomInteger(r: Random): number | bigint {
  switch (randomInt(r, 5)) {
    case 0: return randomInt(r, 10) - 5;
    case 1: return randomInt(r, 2 ** 31) * (r() < 0.5 ? -1 : 1);
    case 2: return (r() < 0.5 ? -1 : 1) * Math.floor(r() * Number.MAX_SAFE_INTEGER);
    case 3: return r() < 0.5 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
    default: {
      // Outside the safe range: a bigint.
      const big = BigInt(Number.MAX_SAFE_INTEGER) + 1n + BigInt(randomInt(r, 2 ** 30)) * BigInt(randomInt(r, 2 ** 30) + 1);
      return r() < 0.5 ? big : -big;
    }
  }
}

/** A random value of the shape decode() returns (so deepEqual against decode works). */
function randomValue(r: Random, depth: number): Encodable {
  const kind = depth > 4 ? randomInt(r, 2) : randomInt(r, 4);
  if (kind === 0) return randomInteger(r);
  if (kind === 1) return randomBytesUpTo(r, 24);
  if (kind === 2) {
    const n = randomInt(r, 5);
    return Array.from({ length: n }, () => randomValue(r, depth + 1));
  }
  const m = new Map<Uint8Array, Encodable>();
  const n = randomInt(r, 5);
  for (let i = 0; i < n; i++) {
    const key = randomBytesUpTo(r, 6);
    if (![...m.keys()].some((k) => Buffer.compare(k, key) === 0)) m.set(key, randomValue(r, depth + 1));
  }
  return m;
}

/** Decoded value -> a canonical comparable form (Maps of bytes keyed by latin1). */
function normal(v: Encodable | BValue): unknown {
  if (typeof v === 'number' || typeof v === 'bigint') return typeof v === 'bigint' ? `big:${v}` : v;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return (v as readonly (Encodable | BValue)[]).map(normal);
  if (isDict(v as BValue)) {
    return [...(v as { entries: Map<string, BValue> }).entries.entries()]
      .map(([k, x]) => [Buffer.from(k, 'latin1').toString('hex'), normal(x)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  if (v instanceof Map) {
    return [...(v as Map<Uint8Array, Encodable>).entries()]
      .map(([k, x]) => [Buffer.from(k).toString('hex'), normal(x)] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  throw new Error('unexpected value');
}

describe('bencode round-trip properties (seeded)', () => {
  test('5000 random values: decode(encode(v)) equals v and re-encodes to the same bytes', () => {
    const r = prng(0x5eed);
    let dicts = 0;
    let bigints = 0;
    for (let i = 0; i < 5000; i++) {
      const v = randomValue(r, 0);
      const bytes = encode(v);
      const back = decode(bytes);
      assert.deepEqual(normal(back), normal(v), `case ${i}`);
      assert.deepEqual(encode(back), bytes, `case ${i}: re-encoding differs`);
      const text = bytes.toString('latin1');
      if (text.startsWith('d')) dicts++;
      if (/i-?\d{17,}e/.test(text)) bigints++;
    }
    // The generator really produced the interesting shapes.
    assert.ok(dicts > 500, `only ${dicts} dicts`);
    assert.ok(bigints > 100, `only ${bigints} bigints`);
  });

  test('encoded dicts are always sorted and decoded spans cover exactly the dict bytes', () => {
    const r = prng(42);
    for (let i = 0; i < 2000; i++) {
      const v = randomValue(r, 0);
      const bytes = encode(v);
      const walk = (x: BValue): void => {
        if (isList(x)) x.forEach(walk);
        else if (isDict(x)) {
          assert.equal(x.keysSorted, true);
          assert.deepEqual(encode(decode(bytes.subarray(x.span.start, x.span.end))), bytes.subarray(x.span.start, x.span.end));
          for (const y of x.entries.values()) walk(y);
        }
      };
      walk(decode(bytes));
    }
  });

  test('10000 random and mutated byte strings: canonical or a BencodeError', () => {
    const r = prng(7);
    const alphabet = Buffer.from('ilde0123456789:-xa');
    let accepted = 0;
    for (let i = 0; i < 10000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        // Short strings over the alphabet.
        input = Buffer.alloc(1 + randomInt(r, 8));
        for (let j = 0; j < input.length; j++) input[j] = alphabet[randomInt(r, alphabet.length)]!;
      } else {
        // A valid encoding with one to three bytes replaced from the alphabet.
        input = Buffer.from(encode(randomValue(r, 2)));
        for (let n = 1 + randomInt(r, 3); n > 0 && input.length > 0; n--) input[randomInt(r, input.length)] = alphabet[randomInt(r, alphabet.length)]!;
      }
      let value: BValue;
      try {
        value = decode(input);
      } catch (err) {
        assert.ok(err instanceof BencodeError, `case ${i} ${input.toString('latin1')}: ${String(err)}`);
        assert.ok(err.offset >= 0 && err.offset <= input.length);
        continue;
      }
      accepted++;
      const sortedEverywhere = (x: BValue): boolean =>
        isList(x) ? x.every(sortedEverywhere) : isDict(x) ? x.keysSorted && [...x.entries.values()].every(sortedEverywhere) : true;
      // Strict decoding means: whatever is accepted with sorted keys is already canonical.
      if (sortedEverywhere(value)) assert.deepEqual(encode(value), input, `case ${i} ${input.toString('latin1')}`);
      else assert.notDeepEqual(encode(value), input);
      assert.ok(isBytes(value) || typeof value === 'number' || typeof value === 'bigint' || isList(value) || isDict(value));
    }
    assert.ok(accepted > 100, `only ${accepted} of the random inputs were valid`);
  });
});
