// The methods against the in-memory engine, without HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTorrent } from '../../src/metainfo/index.js';
import { RpcMethods } from '../../src/rpc/methods.js';
import { makeTorrent, MemoryEngine } from './memory-engine.js';

const FIXTURE = join('test', 'fixtures', 'real', 'mktorrent-multi-256k-tiers.torrent');

function setup(count = 3) {
  const engine = new MemoryEngine();
  for (let id = 1; id <= count; id++) {
    engine.put(
      makeTorrent(id, {
        files: [
          { path: `t${id}/a`, length: 100, verifiedBytes: 0, wanted: true, priority: 'normal' },
          { path: `t${id}/b`, length: 200, verifiedBytes: 0, wanted: true, priority: 'normal' },
        ],
        fileCount: 2,
      }),
    );
  }
  let clock = 1_750_000_000_000;
  const methods = new RpcMethods({ engine, sessionId: 'sid', now: () => clock });
  return { engine, methods, advance: (ms: number) => (clock += ms), nowS: () => Math.floor(clock / 1000) };
}

test('torrent-get: ids as a number, a list with a hash, absent; objects and table', async () => {
  const { engine, methods } = setup();
  const hash2 = engine.byId(2).infoHashHex;
  const one = await methods.handle({ method: 'torrent-get', arguments: { ids: 3, fields: ['id', 'name'] }, tag: 9 });
  assert.deepEqual(one, { result: 'success', arguments: { torrents: [{ id: 3, name: 'torrent-3' }] }, tag: 9 });
  const mixed = await methods.handle({ method: 'torrent-get', arguments: { ids: [1, hash2, 99], fields: ['id'] } });
  assert.deepEqual(mixed.arguments, { torrents: [{ id: 1 }, { id: 2 }] });
  const table = await methods.handle({ method: 'torrent-get', arguments: { fields: ['id', 'status', 'bogus'], format: 'table' } });
  assert.deepEqual(table.arguments, { torrents: [['id', 'status'], [1, 4], [2, 4], [3, 4]] });
  const noFields = await methods.handle({ method: 'torrent-get', arguments: {} });
  assert.match(noFields.result, /fields.*no fields specified/);
  const badFormat = await methods.handle({ method: 'torrent-get', arguments: { fields: ['id'], format: 'csv' } });
  assert.match(badFormat.result, /format/);
});

test('recently-active: active or added in the last 60 s, and the ids removed in that time', async () => {
  const { engine, methods, advance, nowS } = setup();
  engine.byId(2).activityAt = nowS() - 10;
  await methods.handle({ method: 'torrent-remove', arguments: { ids: [3] } });
  let r = await methods.handle({ method: 'torrent-get', arguments: { ids: 'recently-active', fields: ['id'] } });
  assert.deepEqual(r.arguments, { torrents: [{ id: 2 }], removed: [3] });
  advance(61_000);
  r = await methods.handle({ method: 'torrent-get', arguments: { ids: 'recently-active', fields: ['id'] } });
  assert.deepEqual(r.arguments, { torrents: [], removed: [] });
});

test('torrent-set checks every file index before changing anything', async () => {
  const { engine, methods } = setup();
  const r = await methods.handle({ method: 'torrent-set', arguments: { ids: [1, 2], 'files-unwanted': [1], 'priority-high': [5] } });
  assert.match(r.result, /priority-high.*file index out of range: 5/);
  assert.deepEqual(engine.calls, [], 'nothing applied');
  const ok = await methods.handle({ method: 'torrent-set', arguments: { ids: [1], 'files-unwanted': [1], 'priority-low': [], downloadLimit: 30, downloadLimited: true } });
  assert.equal(ok.result, 'success');
  const t = engine.byId(1);
  assert.deepEqual(t.files.map((f) => [f.wanted, f.priority]), [
    [true, 'low'],
    [false, 'low'],
  ]);
  assert.equal(t.wantedBytes, 100);
  assert.equal(t.downloadLimit, 30_000);
  await methods.handle({ method: 'torrent-set', arguments: { ids: [1], downloadLimited: false, seedRatioLimit: 1.5, seedRatioMode: 1 } });
  assert.equal(engine.byId(1).downloadLimit, undefined);
  assert.equal(engine.byId(1).ratioLimit, 1.5);
  await methods.handle({ method: 'torrent-set', arguments: { ids: [1], seedRatioMode: 2 } });
  assert.equal(engine.byId(1).ratioLimit, 'unlimited');
});

test('torrent-set refuses what pytor cannot do instead of dropping it', async () => {
  const { engine, methods } = setup();
  for (const args of [{ trackerAdd: ['http://x/announce'] }, { labels: ['a'] }, { bandwidthPriority: 1 }, { honorsSessionLimits: false }]) {
    const r = await methods.handle({ method: 'torrent-set', arguments: { ids: 1, ...args } });
    assert.notEqual(r.result, 'success', JSON.stringify(args));
    assert.match(r.result, new RegExp(Object.keys(args)[0]!));
  }
  assert.deepEqual(engine.calls, []);
});

test('session-set: limits in kB/s, ratio, dir, port; restating an unsupported setting passes, changing it fails', async () => {
  const { engine, methods } = setup(0);
  let r = await methods.handle({ method: 'session-set', arguments: { 'speed-limit-up': 80, 'speed-limit-up-enabled': true, seedRatioLimit: 2.5, seedRatioLimited: true, 'download-dir': '/srv/dl', 'peer-port': 6000 } });
  assert.equal(r.result, 'success');
  assert.equal(engine.settings.uploadLimit, 80_000);
  assert.equal(engine.settings.seedRatioLimit, 2.5);
  assert.equal(engine.settings.downloadDir, '/srv/dl');
  assert.equal(engine.settings.peerPort, 6000);
  r = await methods.handle({ method: 'session-set', arguments: { 'speed-limit-up': 80, 'speed-limit-up-enabled': false } });
  assert.equal(engine.settings.uploadLimit, null);
  r = await methods.handle({ method: 'session-set', arguments: { 'speed-limit-up-enabled': true } });
  assert.match(r.result, /speed-limit-up.*give the limit/, 'no remembered value to turn on');
  r = await methods.handle({ method: 'session-set', arguments: { 'speed-limit-up': 10, 'speed-limit-up-enabled': true } });
  r = await methods.handle({ method: 'session-set', arguments: { 'speed-limit-up-enabled': true } });
  assert.equal(r.result, 'success', 'already on: nothing to do');
  assert.equal(engine.settings.uploadLimit, 10_000);
  r = await methods.handle({ method: 'session-set', arguments: { 'dht-enabled': true, encryption: 'preferred', version: 'whatever' } });
  assert.equal(r.result, 'success');
  const calls = engine.calls.length;
  r = await methods.handle({ method: 'session-set', arguments: { encryption: 'required', 'peer-port': 7000 } });
  assert.match(r.result, /encryption.*not supported/);
  assert.equal(engine.calls.length, calls, 'refused as a whole');
  r = await methods.handle({ method: 'session-set', arguments: { 'peer-port': 0 } });
  assert.match(r.result, /peer-port/);
  r = await methods.handle({ method: 'session-set', arguments: { 'download-dir': 'relative' } });
  assert.match(r.result, /download-dir.*not absolute/);
});

test('session-get with fields answers just those', async () => {
  const { methods } = setup(0);
  const r = await methods.handle({ method: 'session-get', arguments: { fields: ['version', 'peer-port', 'nonsense'] } });
  assert.deepEqual(r.arguments, { version: '0.1.0 (pytor)', 'peer-port': 51413 });
});

test('torrent-add: metainfo, options passed through, duplicates reported as torrent-duplicate', async () => {
  const { engine, methods } = setup(0);
  const bytes = readFileSync(FIXTURE);
  const torrent = parseTorrent(bytes);
  const args = { metainfo: bytes.toString('base64'), paused: true, 'download-dir': '/srv/x', 'files-unwanted': [0] };
  const r = await methods.handle({ method: 'torrent-add', arguments: args });
  assert.equal(r.result, 'success');
  assert.deepEqual(r.arguments, { 'torrent-added': { id: 1, name: torrent.name, hashString: torrent.infoHashHex } });
  const t = engine.byId(1);
  assert.equal(t.state, 'stopped');
  assert.equal(t.downloadDir, '/srv/x');
  assert.equal(t.files[0]!.wanted, false);
  const again = await methods.handle({ method: 'torrent-add', arguments: { metainfo: bytes.toString('base64') } });
  assert.deepEqual(again.arguments, { 'torrent-duplicate': { id: 1, name: torrent.name, hashString: torrent.infoHashHex } });
  assert.match((await methods.handle({ method: 'torrent-add', arguments: {} })).result, /no filename or metainfo/);
  await methods.handle({ method: 'torrent-remove', arguments: { ids: 1 } });
  const byPath = await methods.handle({ method: 'torrent-add', arguments: { filename: resolve(FIXTURE) } });
  assert.deepEqual(byPath.arguments, { 'torrent-added': { id: 2, name: torrent.name, hashString: torrent.infoHashHex } });
  const add = engine.calls.filter((c) => c.method === 'add').at(-1)!;
  assert.deepEqual(add.args[0], { kind: 'metainfo', bytes: bytes, path: resolve(FIXTURE) }, 'the engine gets the bytes read by the RPC layer');
  assert.match((await methods.handle({ method: 'torrent-add', arguments: { filename: '/etc/passwd' } })).result, /\.torrent/);
  assert.match((await methods.handle({ method: 'torrent-add', arguments: { metainfo: Buffer.from('d4:spam').toString('base64') } })).result, /invalid/);
  assert.match((await methods.handle({ method: 'torrent-add', arguments: { filename: 'http://127.0.0.1:1/x.torrent' } })).result, /does not fetch URLs/);
});

test('actions reach the engine with resolved ids only; remove passes delete-local-data', async () => {
  const { engine, methods } = setup();
  await methods.handle({ method: 'torrent-stop', arguments: { ids: [2, 42] } });
  await methods.handle({ method: 'torrent-start-now', arguments: { ids: 2 } });
  await methods.handle({ method: 'torrent-verify' });
  await methods.handle({ method: 'torrent-reannounce', arguments: { ids: [] } });
  await methods.handle({ method: 'torrent-remove', arguments: { ids: [engine.byId(1).infoHashHex], 'delete-local-data': true } });
  await methods.handle({ method: 'torrent-set-location', arguments: { ids: 2, location: '/srv/new', move: true } });
  assert.deepEqual(engine.calls, [
    { method: 'stop', args: [[2]] },
    { method: 'start', args: [[2], true] },
    { method: 'verify', args: [[1, 2, 3]] },
    { method: 'remove', args: [[1], true] },
    { method: 'setLocation', args: [[2], '/srv/new', true] },
  ]);
  assert.match((await methods.handle({ method: 'torrent-set-location', arguments: { ids: 2 } })).result, /location.*missing/);
});

test('free-space, port-test answering honestly, unknown and unsupported methods, engine errors', async () => {
  const { engine, methods } = setup(1);
  assert.deepEqual((await methods.handle({ method: 'free-space', arguments: { path: '/srv' } })).arguments, { path: '/srv', 'size-bytes': engine.free });
  assert.match((await methods.handle({ method: 'free-space', arguments: { path: 'srv' } })).result, /not absolute/);
  assert.match((await methods.handle({ method: 'port-test' })).result, /cannot tell/);
  engine.portOpen = false;
  assert.deepEqual((await methods.handle({ method: 'port-test' })).arguments, { 'port-is-open': false });
  assert.match((await methods.handle({ method: 'no-such', tag: 4 })).result, /method name not recognized: "no-such"/);
  assert.equal((await methods.handle({ method: 'no-such', tag: 4 })).tag, 4);
  assert.match((await methods.handle({ method: 'blocklist-update' })).result, /not supported by pytor/);
  engine.stop = async () => {
    throw new Error('disk\nfull\x1b[2J');
  };
  const r = await methods.handle({ method: 'torrent-stop', arguments: { ids: 1 } });
  assert.equal(r.result, 'disk full [2J', 'one line, control characters removed');
});
