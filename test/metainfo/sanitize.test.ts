import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkPathComponent,
  decodeName,
  MAX_COMPONENT_BYTES,
  numbered,
  resolveCollisions,
  sanitizeComponent,
  sanitizePath,
  shortenComponent,
  splitExtension,
} from '../../src/metainfo/index.js';
import { prng, randomInt } from '../helpers/random.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('sanitizeComponent', () => {
  const cases: [string, string][] = [
    ['plain.txt', 'plain.txt'],
    ['...', '...'],
    ['.hidden', '.hidden'],
    ['日本語.txt', '日本語.txt'],
    ['', ''],
    ['.', ''],
    ['..', ''],
    ['a/b', 'a_b'],
    ['a\\b', 'a_b'],
    ['/', '_'],
    ['a\0b', 'a_b'],
    ['\x1b[31m', '_[31m'],
    ['tab\there', 'tab_here'],
    ['del\x7f', 'del_'],
    ['c1\u009b2J', 'c1_2J'],
    ['evil\u202Etxt.exe', 'evil_txt.exe'],
    ['iso\u2066late', 'iso_late'],
    ['C:', 'C_'],
    ['c:evil', 'c_evil'],
    ['1:not-a-drive', '1:not-a-drive'],
    ['../x', '.._x'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(sanitizeComponent(input), expected);
      if (expected !== '') assert.doesNotThrow(() => checkPathComponent(expected, 'c'));
    });
  }
  test('sanitizePath drops what sanitizeComponent empties', () => {
    assert.deepEqual(sanitizePath(['', '..', 'a', '.', 'b/c', '']), ['a', 'b_c']);
    assert.deepEqual(sanitizePath(['..', '.']), []);
  });
});

describe('decodeName', () => {
  test('valid UTF-8 is unchanged, including a real U+FFFD', () => {
    assert.equal(decodeName(Buffer.from('Grüße \uFFFD')), 'Grüße \uFFFD');
  });
  test('each invalid sequence becomes _', () => {
    assert.equal(decodeName(Buffer.from([0x61, 0xff, 0x62])), 'a_b');
    assert.equal(decodeName(Buffer.from([0xc3, 0x28])), '_(');
    assert.equal(decodeName(Buffer.from([0xe6, 0x97])), '_'); // truncated 3-byte sequence
    assert.equal(decodeName(Buffer.from([0xed, 0xa0, 0x80])), '___'); // a UTF-16 surrogate, not UTF-8
  });
});

describe('shortenComponent', () => {
  test('names up to 255 bytes are kept', () => {
    assert.equal(shortenComponent('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(shortenComponent('é'.repeat(127) + 'x'), 'é'.repeat(127) + 'x');
  });
  test('cuts on a character boundary: 2-, 3- and 4-byte characters', () => {
    for (const ch of ['é', '日', '😀']) {
      const cut = shortenComponent(ch.repeat(200));
      assert.ok(bytes(cut) <= MAX_COMPONENT_BYTES, ch);
      assert.ok(bytes(cut) > MAX_COMPONENT_BYTES - bytes(ch), ch);
      assert.equal(cut, ch.repeat(cut.length / ch.length), `${ch}: whole characters only`);
      assert.doesNotMatch(cut, /\uFFFD/);
    }
  });
  test('keeps a short extension; a long tail after the last dot is no extension', () => {
    const cut = shortenComponent(`${'日'.repeat(100)}.mkv`);
    // 304 bytes: the stem keeps 83 whole characters (249 bytes), then ".mkv" (253 in all).
    assert.equal(cut, `${'日'.repeat(83)}.mkv`);
  });
  test('splitExtension', () => {
    assert.deepEqual(splitExtension('a.tar.gz'), ['a.tar', '.gz']);
    assert.deepEqual(splitExtension('.bashrc'), ['.bashrc', '']);
    assert.deepEqual(splitExtension('noext'), ['noext', '']);
    assert.deepEqual(splitExtension(`a.${'x'.repeat(40)}`), [`a.${'x'.repeat(40)}`, '']);
  });
});

describe('numbered and resolveCollisions', () => {
  test('file.ext -> file.N.ext, still within 255 bytes', () => {
    assert.equal(numbered('file.ext', 1), 'file.1.ext');
    assert.equal(numbered('noext', 12), 'noext.12');
    const long = numbered(`${'x'.repeat(251)}.mkv`, 7);
    assert.equal(bytes(long), 255);
    assert.ok(long.endsWith('.7.mkv'));
  });
  test('folders are taken first; files in order; case-insensitive', () => {
    assert.deepEqual(resolveCollisions([['a'], ['a', 'b'], ['A'], ['x.txt'], ['X.TXT'], ['x.1.txt']]), [
      ['a.1'], ['a', 'b'], ['A.2'], ['x.txt'], ['X.1.TXT'], ['x.1.1.txt'],
    ]);
  });
  test('100 000 copies of one path get 100 000 distinct names (linear, not quadratic)', () => {
    const paths = Array.from({ length: 100_000 }, () => ['d', 'same.bin']);
    const out = resolveCollisions(paths);
    const keys = new Set(out.map((p) => p.join('/').toLowerCase()));
    assert.equal(keys.size, paths.length);
    assert.deepEqual(out[99_999], ['d', 'same.99999.bin']);
  });
  test('random path sets: every result distinct, no file equal to a folder, every component safe', () => {
    const r = prng(47);
    const names = ['a', 'A', 'a.1', 'b.txt', 'B.txt', 'b.1.txt', 'c'];
    for (let round = 0; round < 200; round++) {
      const paths = Array.from({ length: 1 + randomInt(r, 12) }, () =>
        Array.from({ length: 1 + randomInt(r, 3) }, () => names[randomInt(r, names.length)]!),
      );
      const out = resolveCollisions(paths);
      const files = out.map((p) => p.join('/').toLowerCase());
      assert.equal(new Set(files).size, files.length, JSON.stringify(paths));
      const folders = new Set(out.flatMap((p) => p.slice(0, -1).map((_, i) => p.slice(0, i + 1).join('/').toLowerCase())));
      for (const f of files) assert.ok(!folders.has(f), `${f} is also a folder in ${JSON.stringify(out)}`);
      out.forEach((p, i) => assert.deepEqual(p.slice(0, -1), paths[i]!.slice(0, -1), 'only the last component changes'));
      for (const p of out) for (const c of p) checkPathComponent(c, 'c');
    }
  });
});
