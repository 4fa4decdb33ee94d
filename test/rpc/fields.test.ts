import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMagnet } from '../../src/magnet/index.js';
import type { PeerSnapshot, SessionSettings } from '../../src/rpc/engine.js';
import {
  etaNumber,
  knownFields,
  peerFlags,
  percentDone,
  queryFor,
  ratioFromMode,
  RATIO_INF,
  RATIO_NA,
  scrapeUrl,
  sessionArguments,
  sessionStats,
  statusNumber,
  torrentObject,
  torrentRow,
  trackerStatsObject,
  uploadRatio,
} from '../../src/rpc/fields.js';
import { makeTorrent, MemoryEngine } from './memory-engine.js';

const session: SessionSettings = new MemoryEngine().session();
const ctx = { session, position: 0 };

test('status numbers follow tr_torrent_activity (0 stopped .. 6 seeding)', () => {
  assert.equal(statusNumber('stopped'), 0);
  assert.equal(statusNumber('error'), 0);
  assert.equal(statusNumber('checking'), 2);
  assert.equal(statusNumber('metadata'), 4);
  assert.equal(statusNumber('downloading'), 4);
  assert.equal(statusNumber('seeding'), 6);
});

test('percentDone and leftUntilDone count wanted bytes only', () => {
  const t = makeTorrent(1, { totalBytes: 1000, wantedBytes: 400, wantedVerifiedBytes: 100, verifiedBytes: 700 });
  assert.equal(percentDone(t), 0.25);
  const o = torrentObject(t, ['leftUntilDone', 'sizeWhenDone', 'haveValid', 'totalSize', 'percentDone'], ctx);
  assert.deepEqual(o, { leftUntilDone: 300, sizeWhenDone: 400, haveValid: 700, totalSize: 1000, percentDone: 0.25 });
  assert.equal(percentDone(makeTorrent(2, { wantedBytes: 0 })), 1, 'nothing wanted is done');
  assert.equal(percentDone(makeTorrent(3, { state: 'metadata', pieceCount: 0, totalBytes: 0, wantedBytes: 0 })), 0, 'no metadata is 0');
});

test('uploadRatio: uploaded over downloaded, else over verified, else NA/INF', () => {
  assert.equal(uploadRatio(makeTorrent(1, { uploadedBytes: 300, downloadedBytes: 100 })), 3);
  assert.equal(uploadRatio(makeTorrent(1, { uploadedBytes: 50, downloadedBytes: 0, verifiedBytes: 100 })), 0.5);
  assert.equal(uploadRatio(makeTorrent(1, { uploadedBytes: 0, downloadedBytes: 0, verifiedBytes: 0 })), RATIO_NA);
  assert.equal(uploadRatio(makeTorrent(1, { uploadedBytes: 5, downloadedBytes: 0, verifiedBytes: 0 })), RATIO_INF);
});

test('eta: seconds rounded, -2 while downloading without an estimate, -1 otherwise', () => {
  assert.equal(etaNumber(makeTorrent(1, { etaSeconds: 59.6 })), 60);
  assert.equal(etaNumber(makeTorrent(1, { state: 'downloading' })), -2);
  assert.equal(etaNumber(makeTorrent(1, { state: 'seeding' })), -1);
  assert.equal(etaNumber(makeTorrent(1, { state: 'stopped', etaSeconds: Number.POSITIVE_INFINITY })), -1);
});

test('speed limits are reported in kB/s of 1000 bytes, with the limited flags', () => {
  const t = makeTorrent(1, { downloadLimit: 250_000 });
  assert.deepEqual(torrentObject(t, ['downloadLimit', 'downloadLimited', 'uploadLimit', 'uploadLimited'], ctx), {
    downloadLimit: 250,
    downloadLimited: true,
    uploadLimit: 0,
    uploadLimited: false,
  });
  const s = sessionArguments({ ...session, uploadLimit: 64_000, seedRatioLimit: 1.5 }, 'sid');
  assert.equal(s['speed-limit-up'], 64);
  assert.equal(s['speed-limit-up-enabled'], true);
  assert.equal(s['speed-limit-down-enabled'], false);
  assert.equal(s.seedRatioLimit, 1.5);
  assert.equal(s.seedRatioLimited, true);
  assert.equal(s['session-id'], 'sid');
  assert.equal(s['rpc-version'], 16);
});

test('ratio limit modes: 0 session, 1 own, 2 unlimited', () => {
  assert.deepEqual(torrentObject(makeTorrent(1, { ratioLimit: 1.25 }), ['seedRatioMode', 'seedRatioLimit'], ctx), { seedRatioMode: 1, seedRatioLimit: 1.25 });
  assert.deepEqual(torrentObject(makeTorrent(1, { ratioLimit: 'unlimited' }), ['seedRatioMode'], ctx), { seedRatioMode: 2 });
  assert.deepEqual(torrentObject(makeTorrent(1), ['seedRatioMode', 'seedRatioLimit'], { session: { ...session, seedRatioLimit: 3 }, position: 0 }), { seedRatioMode: 0, seedRatioLimit: 3 });
  assert.equal(ratioFromMode(0, 5, 1), 'session');
  assert.equal(ratioFromMode(2, undefined, 1), 'unlimited');
  assert.equal(ratioFromMode(1, 4, 'session'), 4);
  assert.equal(ratioFromMode(1, undefined, 2.5), 2.5);
  assert.equal(ratioFromMode(1, undefined, 'session'), undefined);
});

test('files, fileStats, priorities and wanted in Transmission forms', () => {
  const t = makeTorrent(1, {
    files: [
      { path: 'd/a', length: 10, verifiedBytes: 10, wanted: true, priority: 'high' },
      { path: 'd/b', length: 20, verifiedBytes: 0, wanted: false, priority: 'low' },
    ],
  });
  assert.deepEqual(torrentObject(t, ['files', 'fileStats', 'priorities', 'wanted'], ctx), {
    files: [
      { bytesCompleted: 10, length: 10, name: 'd/a' },
      { bytesCompleted: 0, length: 20, name: 'd/b' },
    ],
    fileStats: [
      { bytesCompleted: 10, wanted: true, priority: 1 },
      { bytesCompleted: 0, wanted: false, priority: -1 },
    ],
    priorities: [1, -1],
    wanted: [1, 0],
  });
});

const peer = (over: Partial<PeerSnapshot>): PeerSnapshot => ({
  address: '10.0.0.1',
  port: 6881,
  client: 'x',
  progress: 0.5,
  downloadRate: 0,
  uploadRate: 0,
  incoming: false,
  encrypted: false,
  utp: false,
  amChoking: true,
  amInterested: false,
  peerChoking: true,
  peerInterested: false,
  ...over,
});

test('peer flag letters', () => {
  assert.equal(peerFlags(peer({ amInterested: true, peerChoking: false })), 'D');
  assert.equal(peerFlags(peer({ amInterested: true })), 'd');
  assert.equal(peerFlags(peer({ peerInterested: true, amChoking: false, encrypted: true, incoming: true })), 'UEI');
  assert.equal(peerFlags(peer({ peerInterested: true })), 'u');
  assert.equal(peerFlags(peer({ peerChoking: false })), 'K');
  assert.equal(peerFlags(peer({ amChoking: false, utp: true, source: 'pex' })), '?XT');
  const o = torrentObject(makeTorrent(1, { peers: [peer({ amInterested: true, peerChoking: false, downloadRate: 1234.4 })] }), ['peers'], ctx);
  const p = (o.peers as Record<string, unknown>[])[0]!;
  assert.equal(p.isDownloadingFrom, true);
  assert.equal(p.rateToClient, 1234);
  assert.equal(p.clientName, 'x');
  assert.equal(p.flagStr, 'D');
});

test('tracker stats: last announce, counts, next announce; -1 where unknown', () => {
  const o = trackerStatsObject({ url: 'http://t.example:8080/announce?k=1', tier: 1, lastAnnounce: { at: 100, ok: false, message: 'timed out', peers: 0, timedOut: true }, nextAnnounceAt: 200 }, 3);
  assert.equal(o.id, 3);
  assert.equal(o.tier, 1);
  assert.equal(o.host, 'http://t.example:8080');
  assert.equal(o.lastAnnounceResult, 'timed out');
  assert.equal(o.lastAnnounceSucceeded, false);
  assert.equal(o.lastAnnounceTimedOut, true);
  assert.equal(o.hasAnnounced, true);
  assert.equal(o.seederCount, -1);
  assert.equal(o.nextAnnounceTime, 200);
  assert.equal(o.announceState, 1);
  assert.equal(o.scrape, 'http://t.example:8080/scrape?k=1');
  assert.equal(scrapeUrl('http://x/a'), '');
});

test('pieces is the base64 bitfield; magnetLink reads back to the hash, name and trackers', () => {
  const t = makeTorrent(1, { name: 'a b&c', pieces: Uint8Array.of(0b1010_0000), pieceCount: 3, trackerUrls: [['http://a/announce'], ['udp://b:1']] });
  const o = torrentObject(t, ['pieces', 'magnetLink'], ctx);
  assert.equal(o.pieces, 'oA==');
  const m = parseMagnet(o.magnetLink as string);
  assert.equal(m.infoHashHex, t.infoHashHex);
  assert.equal(m.name, 'a b&c');
  assert.deepEqual(m.trackers, ['http://a/announce', 'udp://b:1']);
});

test('unknown field names are left out; repeats collapse; table rows follow the header', () => {
  const fields = knownFields(['id', 'noSuchField', 'name', 'id']);
  assert.deepEqual(fields, ['id', 'name']);
  assert.deepEqual(torrentRow(makeTorrent(7, { name: 'n' }), fields, ctx), [7, 'n']);
  assert.deepEqual(queryFor(['id', 'wanted']), { files: true, peers: false, trackers: false, pieces: false });
  assert.deepEqual(queryFor(['trackerStats', 'pieces', 'peers']), { files: false, peers: true, trackers: true, pieces: true });
});

test('an error state gives error 3 with its text; other states error 0 and ""', () => {
  assert.deepEqual(torrentObject(makeTorrent(1, { state: 'error', error: 'disk full' }), ['error', 'errorString', 'status'], ctx), { error: 3, errorString: 'disk full', status: 0 });
  assert.deepEqual(torrentObject(makeTorrent(1), ['error', 'errorString'], ctx), { error: 0, errorString: '' });
});

test('session-stats sums rates and counts paused and active torrents', () => {
  const e = new MemoryEngine();
  e.put(makeTorrent(1, { downloadRate: 100, uploadRate: 5 }));
  e.put(makeTorrent(2, { state: 'stopped' }));
  e.put(makeTorrent(3, { state: 'seeding', uploadRate: 7 }));
  const s = sessionStats(e.torrents({}), e.totals());
  assert.equal(s.downloadSpeed, 100);
  assert.equal(s.uploadSpeed, 12);
  assert.equal(s.torrentCount, 3);
  assert.equal(s.pausedTorrentCount, 1);
  assert.equal(s.activeTorrentCount, 2);
  assert.equal((s['cumulative-stats'] as Record<string, number>).sessionCount, 3);
});
