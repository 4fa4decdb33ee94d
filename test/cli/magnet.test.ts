// The CLI with magnet links: `info MAGNET` (what the link says), `info --fetch` (metadata from
// peers, hostile ones refused with a one-line error), `info FILE --magnet`, `peers MAGNET`,
// and download's argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { runPytor } from '../helpers/cli.js';
import { makeInfo, startFakePeer } from '../helpers/fake-metadata-peer.js';
import { formatMagnet, parseMagnet } from '../../src/magnet/index.js';
import { parseTorrent, trackerTiers } from '../../src/metainfo/index.js';
import { startBittorrentTracker } from '../interop/harness/trackers.js';

const FIXTURE = path.resolve('test', 'fixtures', 'real', 'mktorrent-multi-256k-tiers.torrent');
const HASH = '0123456789abcdef0123456789abcdef01234567';

test('info MAGNET: what the link says, as text and JSON', { timeout: 30_000 }, async () => {
  const magnet = formatMagnet({ infoHashHex: HASH, name: 'a\x1b[31mname', trackers: ['udp://t.example:80/announce'], peers: [{ host: '::1', port: 7 }] });
  const text = await runPytor(['info', magnet]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`info hash: +${HASH}`));
  assert.match(text.stdout, /udp:\/\/t\.example:80\/announce/);
  assert.match(text.stdout, /--fetch/);
  assert.ok(!text.stdout.includes('\x1b'), 'control characters from the link are escaped');
  const json = await runPytor(['info', magnet, '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    infoHash: HASH,
    name: 'a\x1b[31mname',
    trackers: ['udp://t.example:80/announce'],
    peers: ['[::1]:7'],
    webSeeds: [],
    selectOnly: null,
  });
  const bad = await runPytor(['info', 'magnet:?xt=urn:btih:nothex']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^pytor: invalid magnet link: xt/);
});

test('info FILE --magnet prints a link that reads back to the same torrent', { timeout: 30_000 }, async () => {
  const torrent = parseTorrent(await readFile(FIXTURE));
  const r = await runPytor(['info', FIXTURE, '--magnet']);
  assert.equal(r.code, 0, r.stderr);
  const m = parseMagnet(r.stdout.trim());
  assert.equal(m.infoHashHex, torrent.infoHashHex);
  assert.equal(m.name, torrent.name);
  assert.deepEqual(m.trackers, [...new Set(trackerTiers(torrent).flat())]);
});

test('info MAGNET --fetch: metadata from a peer, full info printed', { timeout: 30_000 }, async (t) => {
  const { info, infoHash } = makeInfo('fetched.bin');
  const peer = await startFakePeer({ info, infoHash, behaviour: 'good' });
  t.after(() => peer.close());
  const magnet = formatMagnet({ infoHashHex: infoHash.toString('hex') });
  const r = await runPytor(['info', magnet, '--fetch', '--json', '--peer', `127.0.0.1:${peer.port}`, '--timeout', '20'], { timeoutMs: 25_000 });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { infoHash: string; name: string; pieceCount: number };
  assert.equal(j.infoHash, infoHash.toString('hex'));
  assert.equal(j.name, 'fetched.bin');
  assert.equal(j.pieceCount, 1000);
  assert.ok(peer.requests() >= 2, 'the dict came in several pieces');
});

for (const behaviour of ['wrong-hash', 'huge-size', 'out-of-range'] as const) {
  test(`info MAGNET --fetch from a ${behaviour} peer: refused, one-line error, no crash`, { timeout: 30_000 }, async (t) => {
    const { info, infoHash } = makeInfo();
    const peer = await startFakePeer({ info, infoHash, behaviour });
    t.after(() => peer.close());
    const magnet = formatMagnet({ infoHashHex: infoHash.toString('hex') });
    const r = await runPytor(['info', magnet, '--fetch', '--peer', `127.0.0.1:${peer.port}`, '--timeout', '3'], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /^pytor: no metadata after 3 s/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(peer.closedByRemote() >= 1, 'pytor dropped the hostile peer');
  });
}

test('peers MAGNET asks the link\'s trackers', { timeout: 30_000 }, async (t) => {
  const tracker = await startBittorrentTracker();
  t.after(() => tracker.stop());
  const magnet = formatMagnet({ infoHashHex: HASH, trackers: [tracker.httpUrl] });
  const r = await runPytor(['peers', magnet, '--json', '--timeout', '10']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { trackers: { url: string; ok: boolean }[] };
  assert.deepEqual(j.trackers.map((x) => [x.url, x.ok]), [[tracker.httpUrl, true]]);
  const none = await runPytor(['peers', formatMagnet({ infoHashHex: HASH }), '--no-dht']);
  assert.equal(none.code, 1);
});

test('download: a magnet link with no way to find peers, and --save-torrent without a magnet, are errors', { timeout: 30_000 }, async () => {
  const r = await runPytor(['download', formatMagnet({ infoHashHex: HASH }), '-o', '.', '--port', '0', '--no-dht']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^pytor: the magnet link lists no trackers; give peers with --peer host:port/);
  const s = await runPytor(['download', FIXTURE, '--save-torrent', 'x.torrent', '--port', '0']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /--save-torrent is for magnet links/);
});
