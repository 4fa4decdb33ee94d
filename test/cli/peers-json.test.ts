// `pytor peers --json` with a tracker whose failure reason holds bidi and C1 controls: the
// JSON on stdout carries them as \uXXXX escapes and parses back to the tracker's text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode } from '../../src/bencode/index.js';
import { runPytor } from '../helpers/cli.js';
import { makeTorrent } from '../tracker/harness.js';

// A reason no real tracker sends (this is the misbehaviour), bencoded as trackers do.
const REASON = 'denied \u202eexe.txt\u202c by \u009b31m policy';
let dir: string;
let server: http.Server;
let torrentFile: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pytor-peers-json-'));
  server = http.createServer((_req, res) => {
    const body = Buffer.from(encode({ 'failure reason': Buffer.from(REASON, 'utf8') }));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, connection: 'close' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  torrentFile = path.join(dir, 'bidi.torrent');
  await writeFile(torrentFile, makeTorrent('bidi-json', { announce: url }).bytes);
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

test('peers --json escapes a bidi override in a tracker failure reason', async () => {
  const r = await runPytor(['peers', torrentFile, '--json', '--timeout', '10'], { env: {} });
  assert.equal(r.code, 1, r.stderr); // no tracker answered with peers
  assert.match(r.stdout, /^[\x20-\x7e\n]*$/, `raw control characters on stdout: ${JSON.stringify(r.stdout)}`);
  assert.ok(r.stdout.includes('\\u202e') && r.stdout.includes('\\u009b'), r.stdout);
  const parsed = JSON.parse(r.stdout) as { trackers: { ok: boolean; error: string }[] };
  assert.equal(parsed.trackers.length, 1);
  assert.equal(parsed.trackers[0]!.ok, false);
  assert.ok(parsed.trackers[0]!.error.includes(REASON), parsed.trackers[0]!.error);
});
