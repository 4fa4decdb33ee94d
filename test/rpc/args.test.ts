import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSource, classifyFilename, decodeMetainfo, MAX_TORRENT_FILE_BYTES, readTorrentFile } from '../../src/rpc/add-source.js';
import { checkFileIndices, optAbsolutePath, optBool, optInt, parseIds, parseIndexList } from '../../src/rpc/args.js';
import { RpcArgumentError } from '../../src/rpc/errors.js';
import { parseRequest } from '../../src/rpc/methods.js';

const HASH = 'aa'.repeat(20);
const FIXTURE = join('test', 'fixtures', 'real', 'mktorrent-single-32k.torrent');

function throwsArg(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => err instanceof RpcArgumentError && err.field === field && err.message.includes(field));
}

test('ids: absent, number, list of numbers and hashes, recently-active, a single hash', () => {
  assert.deepEqual(parseIds(undefined), { kind: 'all' });
  assert.deepEqual(parseIds(5), { kind: 'some', ids: [5], hashes: [] });
  assert.deepEqual(parseIds([1, HASH.toUpperCase(), '7']), { kind: 'some', ids: [1, 7], hashes: [HASH] });
  assert.deepEqual(parseIds('recently-active'), { kind: 'recently-active' });
  assert.deepEqual(parseIds(HASH), { kind: 'some', ids: [], hashes: [HASH] });
  assert.deepEqual(parseIds([]), { kind: 'some', ids: [], hashes: [] });
  throwsArg(() => parseIds(1.5), 'ids');
  throwsArg(() => parseIds('abc'), 'ids');
  throwsArg(() => parseIds({}), 'ids');
  throwsArg(() => parseIds([1, true]), 'ids[1]');
});

test('file index lists: integers only; range checked against the file count; empty means all', () => {
  const args = { 'files-wanted': [0, 2], bad: [0, 'x'], notList: 3 };
  assert.deepEqual(parseIndexList(args, 'files-wanted'), [0, 2]);
  assert.equal(parseIndexList(args, 'absent'), undefined);
  throwsArg(() => parseIndexList(args, 'bad'), 'bad[1]');
  throwsArg(() => parseIndexList(args, 'notList'), 'notList');
  assert.deepEqual(checkFileIndices('files-wanted', [], 3), [0, 1, 2]);
  assert.deepEqual(checkFileIndices('files-wanted', [2], 3), [2]);
  assert.throws(() => checkFileIndices('files-unwanted', [3], 3), /files-unwanted.*file index out of range: 3/);
  assert.throws(() => checkFileIndices('files-unwanted', [-1], 3), /out of range: -1/);
});

test('scalar arguments: booleans (and 0/1), integer ranges, absolute paths', () => {
  assert.equal(optBool({ a: true }, 'a'), true);
  assert.equal(optBool({ a: 0 }, 'a'), false);
  throwsArg(() => optBool({ a: 'yes' }, 'a'), 'a');
  assert.equal(optInt({ p: 51413 }, 'p', 1, 65535), 51413);
  throwsArg(() => optInt({ p: 70000 }, 'p', 1, 65535), 'p');
  throwsArg(() => optInt({ p: 1.5 }, 'p', 1, 65535), 'p');
  throwsArg(() => optInt({ p: '80' }, 'p', 1, 65535), 'p');
  assert.equal(optAbsolutePath({ d: '/srv/x' }, 'd'), '/srv/x');
  throwsArg(() => optAbsolutePath({ d: 'relative/x' }, 'd'), 'd');
  throwsArg(() => optAbsolutePath({ d: '/a\0b' }, 'd'), 'd');
});

test('request envelope: method required, arguments an object, integer tags echoed', () => {
  assert.deepEqual(parseRequest({ method: 'session-get', tag: 5 }), { method: 'session-get', arguments: {}, tag: 5 });
  assert.deepEqual(parseRequest({ method: 'x', tag: 'five' }), { method: 'x', arguments: {} });
  throwsArg(() => parseRequest([]), 'request');
  throwsArg(() => parseRequest({}), 'method');
  throwsArg(() => parseRequest({ method: 'x', arguments: [1] }), 'arguments');
});

test('filename shapes: magnet, http(s) URL, absolute .torrent path; everything else refused', () => {
  assert.equal(classifyFilename(`magnet:?xt=urn:btih:${HASH}`).kind, 'magnet');
  assert.equal(classifyFilename('https://example.org/a.torrent').kind, 'url');
  assert.deepEqual(classifyFilename('/srv/t/a.TORRENT'), { kind: 'path', path: '/srv/t/a.TORRENT' });
  throwsArg(() => classifyFilename('file:///etc/passwd'), 'filename');
  throwsArg(() => classifyFilename('/etc/passwd'), 'filename');
  throwsArg(() => classifyFilename('relative.torrent'), 'filename');
  throwsArg(() => classifyFilename(`magnet:?xt=${'a'.repeat(70_000)}`), 'filename');
});

test('metainfo base64: line breaks tolerated, garbage refused', () => {
  const bytes = readFileSync(FIXTURE);
  const b64 = bytes.toString('base64');
  assert.deepEqual(Buffer.from(decodeMetainfo(b64)), bytes);
  assert.deepEqual(Buffer.from(decodeMetainfo(b64.replace(/(.{60})/g, '$1\n'))), bytes);
  throwsArg(() => decodeMetainfo('not base64!'), 'metainfo');
  throwsArg(() => decodeMetainfo(''), 'metainfo');
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pytor-rpc-args-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a .torrent path is read only when it is a regular file within the size bound', async () => {
  const good = join(dir, 'good.torrent');
  writeFileSync(good, readFileSync(FIXTURE));
  const src = await addSource(good, undefined);
  assert.equal(src.kind, 'metainfo');
  assert.deepEqual(src.kind === 'metainfo' ? Buffer.from(src.bytes) : undefined, readFileSync(FIXTURE));

  const folder = join(dir, 'folder.torrent');
  mkdirSync(folder);
  await assert.rejects(readTorrentFile(folder), /not a regular file/);

  const fifo = join(dir, 'pipe.torrent');
  execFileSync('mkfifo', [fifo]);
  // Opened non-blocking, so a FIFO with no writer is refused instead of hanging the server.
  await assert.rejects(readTorrentFile(fifo), /not a regular file/);

  const big = join(dir, 'big.torrent');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, MAX_TORRENT_FILE_BYTES + 1);
  closeSync(fd);
  await assert.rejects(readTorrentFile(big), /larger than/);

  await assert.rejects(readTorrentFile(join(dir, 'missing.torrent')), /cannot open .*ENOENT/);

  const link = join(dir, 'dev.torrent');
  symlinkSync('/dev/zero', link);
  await assert.rejects(readTorrentFile(link), /not a regular file/);
});
