import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infoJson } from '../../src/cli/info.js';
import { jsonText } from '../../src/cli/json-text.js';

/** Characters a terminal must not see raw, one of each kind. */
const HOSTILE = [
  '\u0000', '\u0007', '\u001b', '\r', '\n', '\u007f', '\u0085', '\u009b', '\u2028', '\u2029',
  '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c',
];

test('every control, separator and bidi character is escaped, in values and in keys, and parses back unchanged', () => {
  for (const c of HOSTILE) {
    const value = { [`key${c}`]: [`a${c}b`, { deep: `x${c}` }], n: 1, nul: null };
    const text = jsonText(value);
    assert.match(text, /^[\x20-\x7e\n]*$/, `U+${c.charCodeAt(0).toString(16)} left raw: ${JSON.stringify(text)}`);
    assert.deepEqual(JSON.parse(text), value);
  }
});

test('lone surrogates come out as escapes; pairs (emoji) and other non-ASCII text stay as they are', () => {
  const value = { lone: 'a\ud800b\udfffc', emoji: 'ok \ud83d\ude00', name: 'Überraschung 日本' };
  const text = jsonText(value, 0);
  assert.equal(text, '{"lone":"a\\ud800b\\udfffc","emoji":"ok \ud83d\ude00","name":"Überraschung 日本"}');
  assert.deepEqual(JSON.parse(text), value);
});

test('indentation as JSON.stringify; undefined at the top is null', () => {
  assert.equal(jsonText({ a: [1] }), '{\n  "a": [\n    1\n  ]\n}');
  assert.equal(jsonText({ a: 1 }, 0), '{"a":1}');
  assert.equal(jsonText(undefined), 'null');
});

test('info --json goes through the shared escaping: a hostile name comes out as ASCII escapes and parses back', () => {
  const name = `x\u202e\u0085\u009b\u200fy`;
  const fake = { infoHashHex: '00'.repeat(20), name, length: 1, pieceLength: 16384, pieces: [Buffer.alloc(20)], private: false, announce: undefined, announceList: [], urlList: [], files: [{ path: [name], length: 1, offset: 0, padding: false }], comment: undefined, createdBy: undefined, creationDate: undefined };
  const text = jsonText(infoJson(fake as never));
  assert.ok(!/[\u0080-\u009f\u202e\u200f]/.test(text));
  const back = JSON.parse(text) as { name: string; files: { index: number; path: string }[] };
  assert.equal(back.name, name);
  assert.equal(back.files[0]!.index, 1);
  assert.equal(back.files[0]!.path, name);
});
