// The web UI's pure parts: what it writes for numbers and states, sorting and filtering, the
// piece bitfield, and the .torrent file list it reads in the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/bencode/index.js';
import { decodePieces, formatBytes, formatEta, formatRatio, formatWhen, percent, stateOf, stateText, visibleRows, type TorrentRow } from '../../src/web/shared/format.js';
import { readTorrentFiles, TorrentFileError } from '../../src/web/shared/torrent-files.js';

function row(id: number, over: Partial<TorrentRow> = {}): TorrentRow {
  return {
    id, name: `t${id}`, hashString: `${id}`.repeat(40).slice(0, 40), totalSize: 100, sizeWhenDone: 100, leftUntilDone: 0, percentDone: 0, status: 4, error: 0, errorString: '',
    rateDownload: 0, rateUpload: 0, eta: -1, peersConnected: 0, peersSendingToUs: 0, peersGettingFromUs: 0, uploadRatio: 0, metadataPercentComplete: 1, recheckProgress: 0,
    addedDate: id, downloadDir: '/d', isFinished: false, uploadedEver: 0, downloadedEver: 0, ...over,
  };
}

test('states: Transmission status numbers, errors and metadata become one word, with detail', () => {
  assert.equal(stateOf(row(1, { status: 0 })), 'stopped');
  assert.equal(stateOf(row(1, { status: 0, error: 3, errorString: 'disk full' })), 'error');
  assert.equal(stateText(row(1, { status: 0, error: 3, errorString: 'disk full' })), 'Error: disk full');
  assert.equal(stateText(row(1, { status: 2, recheckProgress: 0.25 })), 'Checking 25.0%');
  assert.equal(stateText(row(1, { status: 4, metadataPercentComplete: 0 })), 'Fetching metadata');
  assert.equal(stateText(row(1, { status: 4 })), 'Downloading');
  assert.equal(stateText(row(1, { status: 6 })), 'Seeding');
  assert.equal(stateText(row(1, { status: 3 })), 'Queued');
  // A tracker warning (error 1) on a running torrent does not hide that it runs.
  assert.equal(stateOf(row(1, { status: 4, error: 1 })), 'downloading');
});

test('numbers: SI sizes, rates, percentages that reach 100% only when done, ETAs, ratios', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1500), '1.50 kB');
  assert.equal(formatBytes(15_000_000), '15.0 MB');
  assert.equal(formatBytes(734_003_200), '734 MB');
  assert.equal(percent(0), '0%');
  assert.equal(percent(0.4213), '42.1%');
  assert.equal(percent(0.99999), '99.9%');
  assert.equal(percent(1), '100%');
  assert.equal(formatEta(-1), '∞');
  assert.equal(formatEta(42), '42s');
  assert.equal(formatEta(3 * 3600 + 120), '3h 2m');
  assert.equal(formatEta(200 * 86400), '200d 0h');
  assert.equal(formatRatio(-1), '–');
  assert.equal(formatRatio(-2), '∞');
  assert.equal(formatRatio(1.234), '1.23');
  assert.equal(formatWhen(1060, 1000), 'in 1m 0s');
  assert.equal(formatWhen(940, 1000), '1m 0s ago');
  assert.equal(formatWhen(0, 1000), '–');
});

test('visibleRows filters by text (name or hash prefix) and state, and sorts with ties in id order', () => {
  const rows = [row(1, { name: 'Beta', rateDownload: 5, status: 4 }), row(2, { name: 'alpha', status: 6, rateDownload: 5 }), row(3, { name: 'Gamma', status: 0 })];
  assert.deepEqual(visibleRows(rows, { text: '', state: 'all', key: 'name', descending: false }).map((r) => r.id), [2, 1, 3]);
  assert.deepEqual(visibleRows(rows, { text: '', state: 'all', key: 'name', descending: true }).map((r) => r.id), [3, 1, 2]);
  assert.deepEqual(visibleRows(rows, { text: '', state: 'all', key: 'down', descending: true }).map((r) => r.id), [1, 2, 3]);
  assert.deepEqual(visibleRows(rows, { text: 'AM', state: 'all', key: 'name', descending: false }).map((r) => r.id), [3]);
  assert.deepEqual(visibleRows(rows, { text: '222', state: 'all', key: 'name', descending: false }).map((r) => r.id), [2]);
  assert.deepEqual(visibleRows(rows, { text: '', state: 'seeding', key: 'name', descending: false }).map((r) => r.id), [2]);
  // Unknown ETAs sort after known ones.
  const etas = [row(1, { eta: -1 }), row(2, { eta: 30 }), row(3, { eta: 5 })];
  assert.deepEqual(visibleRows(etas, { text: '', state: 'all', key: 'eta', descending: false }).map((r) => r.id), [3, 2, 1]);
});

test('decodePieces reads BEP 3 bit order and stops at the piece count or a short field', () => {
  const b64 = Buffer.from([0b1010_0000, 0b1000_0000]).toString('base64');
  assert.deepEqual([...decodePieces(b64, 9)], [1, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...decodePieces(b64, 20)].slice(16), [0, 0, 0, 0]);
  assert.deepEqual([...decodePieces('!!not base64', 3)], [0, 0, 0]);
});

test('readTorrentFiles lists a multi-file torrent in its own order, pad files marked', () => {
  const bytes = encode({
    announce: 'http://127.0.0.1:1/announce',
    info: {
      name: 'album',
      'piece length': 16384,
      pieces: Buffer.alloc(20),
      files: [
        { length: 10, path: ['b.flac'] },
        { length: 16374, path: ['.pad', '16374'], attr: 'p' },
        { length: 5, path: ['cover', 'front.jpg'] },
      ],
    },
  });
  const list = readTorrentFiles(bytes);
  assert.equal(list.name, 'album');
  assert.deepEqual(list.files, [
    { path: 'b.flac', length: 10, padding: false },
    { path: '.pad/16374', length: 16374, padding: true },
    { path: 'cover/front.jpg', length: 5, padding: false },
  ]);
  const single = readTorrentFiles(encode({ info: { name: 'one.iso', length: 123, 'piece length': 16384, pieces: Buffer.alloc(20) } }));
  assert.deepEqual(single.files, [{ path: 'one.iso', length: 123, padding: false }]);
});

test('readTorrentFiles refuses what is not a v1 .torrent with an error, never a crash', () => {
  for (const bad of ['', 'i12', 'd4:infoi1ee', 'le', 'd4:infod4:name1:xee', '9999999999999:x', 'l'.repeat(100) + 'e'.repeat(100)]) {
    assert.throws(() => readTorrentFiles(Buffer.from(bad)), TorrentFileError, JSON.stringify(bad));
  }
});
