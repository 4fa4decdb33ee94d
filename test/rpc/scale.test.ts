// 200 torrents: torrent-get answers quickly over HTTP, and transmission-remote -l lists them all.
// The times are reported as test diagnostics; the only bound is a generous 2 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { startRpcServer, type RpcServer } from '../../src/rpc/index.js';
import { TORRENT_FIELDS } from '../../src/rpc/fields.js';
import { makeTorrent, MemoryEngine } from './memory-engine.js';

const COUNT = 200;
const GENEROUS_MS = 2000;
const BIN = '/usr/bin/transmission-remote';

let engine: MemoryEngine;
let server: RpcServer;

before(async () => {
  engine = new MemoryEngine();
  for (let id = 1; id <= COUNT; id++) {
    const pieceCount = 2000;
    engine.put(
      makeTorrent(id, {
        name: `torrent number ${id}`,
        pieceLength: 262144,
        totalBytes: pieceCount * 262144,
        wantedBytes: pieceCount * 262144,
        wantedVerifiedBytes: id * 262144,
        verifiedBytes: id * 262144,
        downloadRate: id * 1000,
        files: Array.from({ length: 20 }, (_, i) => ({ path: `t${id}/file-${i}.bin`, length: (pieceCount * 262144) / 20, verifiedBytes: 0, wanted: true, priority: 'normal' as const })),
        fileCount: 20,
        peers: Array.from({ length: 10 }, (_, i) => ({ address: `10.0.${id % 256}.${i}`, port: 6881, client: 'libtorrent', progress: 0.5, downloadRate: 1000, uploadRate: 0, incoming: i % 2 === 0, encrypted: false, utp: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false })),
        trackers: [{ url: 'http://127.0.0.1:6969/announce', tier: 0 }],
        pieces: new Uint8Array(pieceCount / 8).fill(0xf0),
        pieceCount,
      }),
    );
  }
  server = await startRpcServer({ engine, port: 0 });
});
after(async () => {
  await server?.close();
});

function post(body: unknown): Promise<{ status: number; json: any; ms: number; bytes: number }> {
  const started = performance.now();
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method: 'POST', path: '/transmission/rpc', agent: false, headers: { 'X-Transmission-Session-Id': server.sessionId } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(text), ms: performance.now() - started, bytes: text.length });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test(`torrent-get of ${COUNT} torrents: list fields, every field, and the table form`, async (t) => {
  const listFields = ['error', 'errorString', 'eta', 'id', 'isFinished', 'leftUntilDone', 'name', 'peersGettingFromUs', 'peersSendingToUs', 'rateDownload', 'rateUpload', 'sizeWhenDone', 'status', 'uploadRatio'];
  const list = await post({ method: 'torrent-get', arguments: { fields: listFields } });
  assert.equal(list.status, 200);
  assert.equal(list.json.arguments.torrents.length, COUNT);
  assert.equal(list.json.arguments.torrents[199].name, 'torrent number 200');
  t.diagnostic(`list fields: ${list.ms.toFixed(1)} ms, ${list.bytes} bytes`);
  assert.ok(list.ms < GENEROUS_MS, `${list.ms} ms`);

  const everything = Object.keys(TORRENT_FIELDS);
  const all = await post({ method: 'torrent-get', arguments: { fields: everything } });
  assert.equal(all.json.result, 'success');
  assert.equal(all.json.arguments.torrents.length, COUNT);
  assert.equal(all.json.arguments.torrents[0].files.length, 20);
  assert.equal(all.json.arguments.torrents[0].peers.length, 10);
  t.diagnostic(`all ${everything.length} fields (files, peers, trackerStats, pieces): ${all.ms.toFixed(1)} ms, ${all.bytes} bytes`);
  assert.ok(all.ms < GENEROUS_MS, `${all.ms} ms`);

  const table = await post({ method: 'torrent-get', arguments: { fields: everything, format: 'table' } });
  assert.equal(table.json.arguments.torrents.length, COUNT + 1);
  t.diagnostic(`all fields as a table: ${table.ms.toFixed(1)} ms, ${table.bytes} bytes`);
  assert.ok(table.ms < GENEROUS_MS, `${table.ms} ms`);
});

test(`transmission-remote -l lists all ${COUNT}`, { skip: existsSync(BIN) ? false : 'transmission-remote is not installed' }, async (t) => {
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(BIN, [`127.0.0.1:${server.port}`, '-l'], { timeout: 20_000, encoding: 'utf8' }, (err, out) => (err ? reject(err) : resolve(out)));
  });
  const ms = performance.now() - started;
  const rows = stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l));
  assert.equal(rows.length, COUNT);
  assert.match(rows[199]!, /torrent number 200$/);
  t.diagnostic(`transmission-remote -l, whole process: ${ms.toFixed(0)} ms`);
});
