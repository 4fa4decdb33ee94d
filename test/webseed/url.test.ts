import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileUrl, isSupportedWebSeed, parseContentRange, pieceRanges } from '../../src/webseed/index.js';
import { backoffDelay } from '../../src/webseed/policy.js';
import { makeTorrent } from '../storage/fixture.js';

const bytes = (n: number, fill = 7) => Buffer.alloc(n, fill);

test('single-file: the URL is the file, or the folder plus the name when it ends in /', () => {
  const t = makeTorrent('my file #1.iso', [{ path: ['my file #1.iso'], data: bytes(10) }], 4, false);
  assert.equal(fileUrl('http://h/pub/x.iso', t, 0), 'http://h/pub/x.iso');
  assert.equal(fileUrl('http://h/pub/', t, 0), 'http://h/pub/my%20file%20%231.iso');
});

test('multi-file: base + name + / + each path component percent-encoded', () => {
  const t = makeTorrent('Album 100%', [
    { path: ['a?b', 'c d.txt'], data: bytes(3) },
    { path: ['é'], data: bytes(3) },
  ], 4);
  assert.equal(fileUrl('http://h/pub/', t, 0), 'http://h/pub/Album%20100%25/a%3Fb/c%20d.txt');
  // BEP 19 calls the URL a root folder: a missing trailing slash is supplied.
  assert.equal(fileUrl('http://h/pub', t, 1), 'http://h/pub/Album%20100%25/%C3%A9');
  assert.throws(() => fileUrl('http://h/', t, 2), RangeError);
});

test('a piece spanning files becomes one range per file; pad files and empty files are not asked for', () => {
  const t = makeTorrent('n', [
    { path: ['a'], data: bytes(5) },
    { path: ['empty'], data: bytes(0) },
    { path: ['.pad', '3'], data: bytes(3, 0), padding: true },
    { path: ['b'], data: bytes(2) },
    { path: ['c'], data: bytes(9) },
  ], 8);
  // piece 0 = a[0..5) pad[0..3); piece 1 = b[0..2) c[0..6); piece 2 = c[6..9)
  assert.deepEqual(pieceRanges('http://h/', t, 0), [
    { fileIndex: 0, url: 'http://h/n/a', start: 0, length: 5, bufferOffset: 0, fileLength: 5 },
  ]);
  assert.deepEqual(pieceRanges('http://h/', t, 1), [
    { fileIndex: 3, url: 'http://h/n/b', start: 0, length: 2, bufferOffset: 0, fileLength: 2 },
    { fileIndex: 4, url: 'http://h/n/c', start: 0, length: 6, bufferOffset: 2, fileLength: 9 },
  ]);
  assert.deepEqual(pieceRanges('http://h/', t, 2), [
    { fileIndex: 4, url: 'http://h/n/c', start: 6, length: 3, bufferOffset: 0, fileLength: 9 },
  ]);
});

test('only http: and https: web seeds are used', () => {
  assert.equal(isSupportedWebSeed('http://a/b'), true);
  assert.equal(isSupportedWebSeed('https://a/b'), true);
  assert.equal(isSupportedWebSeed('ftp://a/b'), false);
  assert.equal(isSupportedWebSeed('not a url'), false);
});

test('Content-Range parsing accepts only a well-formed single range', () => {
  assert.deepEqual(parseContentRange('bytes 0-9/100'), { start: 0, end: 9, total: 100 });
  assert.deepEqual(parseContentRange('bytes 5-5/*'), { start: 5, end: 5, total: undefined });
  for (const bad of [undefined, '', 'bytes 9-0/100', 'bytes 0-100/100', 'bytes */100', 'items 0-1/2', 'bytes 0-1/2, 3-4/5', 'bytes 99999999999999999-1/2']) {
    assert.equal(parseContentRange(bad), undefined, String(bad));
  }
});

test('backoff doubles from the base and stops at the maximum', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 10, 1000].map((n) => backoffDelay(n, 1000, 30_000)), [0, 1000, 2000, 4000, 8000, 30_000, 30_000]);
});
