// --json-events lines from a torrent's events: one JSON object per line, `event` and `time`
// first, stable field names, hostile text escaped by the shared jsonText.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ClientTorrent } from '../../src/client/index.js';
import { JsonEvents } from '../../src/cli/json-events.js';
import type { SessionStats } from '../../src/session/session.js';
import { makeTorrent } from '../storage/fixture.js';

const stats: SessionStats = {
  state: 'downloading', length: 1000, verified: 250, pieceCount: 4, piecesHave: 1, downloaded: 300, uploaded: 5,
  downloadRate: 100, uploadRate: 0, peersConnected: 2, peersKnown: 3, hashFailures: 0, webSeeds: 1,
};

test('each event is one line of JSON with event, time and its documented fields', () => {
  const lines: string[] = [];
  const torrent = makeTorrent('n\u202eame\x1b', [{ path: ['a'], data: Buffer.alloc(1000) }], 256, false);
  const t = Object.assign(new EventEmitter(), {
    infoHashHex: torrent.infoHashHex, name: torrent.name, outDir: '/out', torrent,
    session: { stats: () => stats }, finished: 'complete', error: undefined,
  });
  let clock = Date.parse('2026-11-30T01:00:00Z');
  const ev = new JsonEvents({ write: (s: string) => lines.push(s) }, () => new Date(clock));
  ev.attach(t as unknown as ClientTorrent);
  clock += 1000;
  t.emit('peer', '127.0.0.1:6881', 'connected');
  t.emit('tick', stats);
  t.emit('piece-failed', 3, ['127.0.0.1:6881']);
  t.emit('tracker', { url: 'http://t/a', ok: false, error: 'bad\u0085' });
  t.emit('complete');
  t.emit('stopped');
  assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  const text = lines.join('');
  assert.ok(!/[\u0080-\u009f\u202e\x1b]/.test(text), 'raw control or bidi characters in the output');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(parsed.map((e) => e.event), ['started', 'metadata', 'peer', 'progress', 'piece-failed', 'tracker', 'complete', 'stopped']);
  for (const e of parsed) assert.deepEqual(Object.keys(e).slice(0, 2), ['event', 'time']);
  assert.equal(parsed[0]!.name, 'n\u202eame\x1b'); // escaped on the wire, the same string parsed
  assert.deepEqual(Object.keys(parsed[3]!), ['event', 'time', 'state', 'length', 'verified', 'progress', 'downloaded', 'uploaded', 'downloadRate', 'uploadRate', 'peers', 'webSeeds', 'eta']);
  assert.equal(parsed[3]!.progress, 0.25);
  assert.equal(parsed[3]!.eta, 8);
  assert.deepEqual(parsed[4], { event: 'piece-failed', time: '2026-11-30T01:00:01.000Z', piece: 3, peers: ['127.0.0.1:6881'] });
  assert.deepEqual(parsed[5], { event: 'tracker', time: '2026-11-30T01:00:01.000Z', url: 'http://t/a', ok: false, peers: null, message: 'bad\u0085' });
  assert.equal(parsed[7]!.reason, 'complete');
  assert.equal(parsed[7]!.seconds, 1);
});
