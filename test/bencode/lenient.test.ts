// Lenient decoding (DecodeOptions.lenient, used for .torrent files only): leading zeros and
// duplicate keys are read the way libtorrent reads them and reported; everything else, and
// every bound, is as strict as the default mode, which still refuses all of it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  BencodeError,
  decode,
  decodePrefix,
  encode,
  isBytes,
  isDict,
  isList,
  type BValue,
  type DecodedPrefix,
  type NonCanonical,
} from '../../src/bencode/index.js';
import { prng, randomInt } from '../helpers/random.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const lenient = (s: string | Buffer): { value: BValue; nonCanonical: readonly NonCanonical[] } => {
  const input = typeof s === 'string' ? b(s) : s;
  const r = decodePrefix(input, 0, { lenient: true });
  assert.equal(r.end, input.length, 'the whole input is one value');
  assert.ok(r.nonCanonical, 'lenient mode always reports (maybe nothing)');
  return { value: r.value, nonCanonical: r.nonCanonical };
};

function refusedLeniently(s: string, reason: RegExp): void {
  assert.throws(
    () => decode(b(s), { lenient: true }),
    (err: unknown) => err instanceof BencodeError && reason.test(err.reason),
    s,
  );
}

describe('bencode lenient: leading zeros', () => {
  test('integers with leading zeros read as their value, reported once per kind with a count', () => {
    assert.equal(lenient('i040000e').value, 40000);
    assert.equal(lenient('i00e').value, 0);
    assert.equal(lenient('i-05e').value, -5);
    // Beyond 15 digits the BigInt path must see through the zeros too.
    assert.equal(lenient(`i${'0'.repeat(20)}9007199254740991e`).value, Number.MAX_SAFE_INTEGER);
    assert.equal(lenient(`i${'0'.repeat(20)}9007199254740993e`).value, 9007199254740993n);
    const r = lenient('li1ei01ei002ee');
    assert.deepEqual(r.value, [1, 1, 2]);
    assert.deepEqual(r.nonCanonical, [{ kind: 'leading-zero-integer', at: 5, count: 2 }]);
  });

  test('string lengths with leading zeros read as their value', () => {
    const r = lenient('l08:file.bin00:e');
    assert.ok(isList(r.value));
    assert.deepEqual(r.value.map((x) => (isBytes(x) ? x.toString() : x)), ['file.bin', '']);
    assert.deepEqual(r.nonCanonical, [{ kind: 'leading-zero-length', at: 1, count: 2 }]);
  });

  test('strict mode (the default) still refuses them, at the same offsets as before', () => {
    for (const [s, at] of [['i040000e', 1], ['i00e', 1], ['i-05e', 2], ['08:file.bin', 0], ['00:', 0]] as const) {
      assert.throws(() => decode(b(s)), (err: unknown) => err instanceof BencodeError && err.offset === at && /leading zero/.test(err.reason), s);
      assert.throws(() => decode(b(s), { lenient: false }), BencodeError, s);
    }
  });

  test('negative zero, empty and non-digit integers, non-digit lengths stay refused', () => {
    refusedLeniently('i-0e', /negative zero/);
    refusedLeniently('i-00e', /negative zero/);
    refusedLeniently('i-000000e', /negative zero/);
    refusedLeniently('ie', /empty integer/);
    refusedLeniently('i-e', /empty integer/);
    refusedLeniently('i0x1e', /non-digit/);
    refusedLeniently('i+1e', /non-digit/);
    refusedLeniently('1a:x', /non-digit in string length/);
    refusedLeniently('-1:x', /unexpected byte/);
    refusedLeniently('05:abc', /runs past the end/);
  });

  test('every bound is as strict as in strict mode: zeros count as digits', () => {
    // 16 length digits are refused even if they spell a small number.
    refusedLeniently(`${'0'.repeat(15)}1:a`, /string length too large/);
    assert.deepEqual(lenient(`${'0'.repeat(14)}1:a`).value, b('a'));
    refusedLeniently(`i${'0'.repeat(256)}1e`, /integer longer than 256 digits/);
    refusedLeniently(`${'l'.repeat(257)}${'e'.repeat(257)}`, /nesting deeper than 256/);
    assert.throws(() => decode(b('llee'), { lenient: true, maxDepth: 1 }), /nesting deeper than 1/);
  });
});

describe('bencode lenient: duplicate dictionary keys', () => {
  test('the first value wins (as in libtorrent), reported at the second key', () => {
    const r = lenient('d1:ai1e1:ai2ee');
    assert.ok(isDict(r.value));
    assert.equal(r.value.get('a'), 1);
    assert.equal(r.value.size, 1);
    assert.deepEqual(r.nonCanonical, [{ kind: 'duplicate-key', at: 7, count: 1, key: 'a' }]);
  });

  test('a duplicated dict keeps the span of the first one (the info-hash libtorrent computes)', () => {
    const input = 'd4:infod1:xi1ee4:infod1:xi2eee';
    const r = lenient(input);
    assert.ok(isDict(r.value));
    const info = r.value.get('info');
    assert.ok(isDict(info));
    assert.equal(info.get('x'), 1);
    assert.equal(input.slice(info.span.start, info.span.end), 'd1:xi1ee');
  });

  test('the dropped value must still be well-formed and within bounds', () => {
    refusedLeniently('d1:ai1e1:ai-0ee', /negative zero/);
    refusedLeniently('d1:ai1e1:a5:abce', /runs past the end/);
    refusedLeniently(`d1:ai1e1:a${'l'.repeat(256)}${'e'.repeat(256)}e`, /nesting deeper than 256/);
    refusedLeniently('d1:ai1e1:ae', /unexpected byte 0x65/);
  });

  test('strict mode still refuses them', () => {
    assert.throws(() => decode(b('d1:ai1e1:ai2ee')), (err: unknown) => err instanceof BencodeError && err.offset === 7 && /duplicate dictionary key "a"/.test(err.reason));
  });

  test('a long or binary duplicated key is reported printable and short', () => {
    const key = `\x01${'k'.repeat(100)}`;
    const r = lenient(`d${key.length}:${key}i1e${key.length}:${key}i2ee`);
    assert.equal(r.nonCanonical[0]?.key, `?${'k'.repeat(39)}...`);
  });

  test('all three kinds together, each reported once at its first place', () => {
    const r = lenient('d1:ai01e1:ai2e1:b02:xy1:bi3ee');
    assert.deepEqual(
      [...r.nonCanonical].sort((x, y) => x.at - y.at),
      [
        { kind: 'leading-zero-integer', at: 5, count: 1 },
        { kind: 'duplicate-key', at: 8, count: 2, key: 'a' },
        { kind: 'leading-zero-length', at: 17, count: 1 },
      ],
    );
  });
});

describe('bencode lenient: canonical input is read exactly as in strict mode', () => {
  test('same value, no notes', () => {
    for (const s of ['i0e', 'i-42e', '0:', '4:spam', 'le', 'de', 'd1:ai1e1:bl1:xee', 'd1:bi1e1:ai2ee']) {
      const r = lenient(s);
      assert.deepEqual(r.value, decode(b(s)), s);
      assert.deepEqual(r.nonCanonical, [], s);
    }
  });
});

/** Counts nodes and checks that every byte string is a view of the input (no copy, no growth). */
function checkBounded(v: BValue, input: Buffer): number {
  if (isBytes(v)) {
    assert.equal(v.buffer, input.buffer, 'byte strings are views of the input');
    return 1;
  }
  if (isList(v)) return 1 + v.reduce((n: number, x) => n + checkBounded(x, input), 0);
  if (isDict(v)) return 1 + [...v.entries.values()].reduce((n: number, x) => n + checkBounded(x, input), 0);
  return 1;
}

describe('bencode lenient: fuzz (seeded)', () => {
  test('20000 random and mutated inputs: a bounded value or a BencodeError; strict agrees wherever nothing was lenient', () => {
    const r = prng(18);
    const alphabet = b('ilde0000123456789:-xa');
    const seeds = ['d8:announce3:abc4:infod6:lengthi40000e4:name8:file.bin12:piece lengthi16384eee', 'l1:ai1ed1:ai2e1:ai3eee', 'd1:al1:bi01eee', 'i0e'];
    let lenientOnly = 0;
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let input: Buffer;
      if (i % 2 === 0) {
        input = Buffer.alloc(1 + randomInt(r, 12));
        for (let j = 0; j < input.length; j++) input[j] = alphabet[randomInt(r, alphabet.length)]!;
      } else {
        input = Buffer.from(b(seeds[randomInt(r, seeds.length)]!));
        for (let n = 1 + randomInt(r, 3); n > 0; n--) input[randomInt(r, input.length)] = alphabet[randomInt(r, alphabet.length)]!;
      }
      let result: DecodedPrefix;
      try {
        result = decodePrefix(input, 0, { lenient: true });
      } catch (err) {
        assert.ok(err instanceof BencodeError, `case ${i} ${input.toString('latin1')}: ${String(err)}`);
        assert.ok(err.offset >= 0 && err.offset <= input.length);
        // Whatever lenient mode refuses, strict mode refuses too.
        assert.throws(() => decodePrefix(input), BencodeError);
        continue;
      }
      accepted++;
      assert.ok(result.end <= input.length);
      assert.ok(checkBounded(result.value, input) <= input.length, 'no more values than input bytes');
      const notes = result.nonCanonical;
      assert.ok(notes !== undefined && notes.length <= 3);
      for (const n of notes) assert.ok(n.count >= 1 && n.at >= 0 && n.at < result.end);
      if (notes.length === 0) {
        // Nothing lenient was needed: strict mode reads the very same value.
        assert.deepEqual(decodePrefix(input).value, result.value, `case ${i}`);
      } else {
        lenientOnly++;
        // Strict mode refuses it, at the first non-canonical place.
        assert.throws(
          () => decodePrefix(input),
          (err: unknown) => err instanceof BencodeError && err.offset === Math.min(...notes.map((n) => n.at)),
          `case ${i} ${input.toString('latin1')}`,
        );
        // And what was read re-encodes canonically to something strict mode accepts.
        assert.doesNotThrow(() => decode(encode(result.value)));
      }
    }
    assert.ok(accepted > 1000, `only ${accepted} accepted`);
    assert.ok(lenientOnly > 200, `only ${lenientOnly} needed lenient mode`);
  });

  test('a million non-canonical values cost one note, and memory bounded by the input', () => {
    const input = Buffer.concat([b('l'), b('i00e'.repeat(1_000_000)), b('e')]);
    const r = lenient(input);
    assert.ok(isList(r.value));
    assert.equal(r.value.length, 1_000_000);
    assert.deepEqual(r.nonCanonical, [{ kind: 'leading-zero-integer', at: 2, count: 1_000_000 }]);
    const dups = Buffer.concat([b('d'), b('1:ai1e'.repeat(100_000)), b('e')]);
    const d = lenient(dups);
    assert.ok(isDict(d.value));
    assert.equal(d.value.size, 1);
    assert.equal(d.nonCanonical[0]?.count, 99_999);
  });
});
