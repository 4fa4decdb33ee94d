// `pytor peers` as a process, against bittorrent-tracker and opentracker on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '../../src/bencode/index.js';
import { buildProgram } from '../../src/cli/main.js';
import { runPytor, type RunResult } from '../helpers/cli.js';
import {
  leakedResources,
  makeTorrent,
  rawAnnounce,
  rawScrape,
  startBtTracker,
  startOpentracker,
  V4,
  type BtTracker,
  type FakePeer,
  type OpenTracker,
  type TestTorrent,
} from '../tracker/harness.js';

const FAKES: FakePeer[] = [
  { port: 43001, seeder: true },
  { port: 43002, seeder: false },
  { port: 43003, seeder: false },
];
const FAKE_LINES = FAKES.map((f) => `127.0.0.1:${f.port}`).sort();
const OUR_PORT = '43999';

let dir: string;
let bt: BtTracker;
let ot: OpenTracker;
let good: TestTorrent;
let goodFile: string;

/** Through main when it registers `peers`, else through a twin entry that does. */
function pytor(args: string[]): Promise<RunResult> {
  if (buildProgram().commands.some((c) => c.name() === 'peers')) return runPytor(args, { env: {} });
  const entry = fileURLToPath(new URL('./peers-entry.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const env = { ...process.env };
    delete env.DEBUG;
    const child = spawn(process.execPath, [entry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function torrentFile(name: string, t: TestTorrent): Promise<string> {
  const file = path.join(dir, `${name}.torrent`);
  await writeFile(file, t.bytes);
  return file;
}

const peerLines = (out: string) =>
  out
    .split('\n')
    .map((l) => /^((?:\[[0-9a-f:]+\]|[0-9.]+):\d+)  tracker$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .sort();
const statusLines = (out: string) => out.split('\n').filter((l) => /^(ok|error) /.test(l));

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pytor-peers-'));
  bt = await startBtTracker();
  // Tiers: each tracker in its own tier except opentracker's two endpoints, which share one.
  const probe = makeTorrent('cli', {});
  ot = await startOpentracker([probe.hex]);
  good = makeTorrent('cli', {
    announce: bt.httpUrl,
    announceList: [[bt.httpUrl], [bt.udpUrl], [ot.httpUrl, ot.udpUrl]],
  });
  assert.equal(good.hex, probe.hex); // trackers live outside the info dict
  goodFile = await torrentFile('good', good);
  for (const p of FAKES) {
    await rawAnnounce(bt.httpUrl, good.infoHash, p);
    await rawAnnounce(ot.httpUrl, good.infoHash, p);
  }
});

after(async () => {
  await bt.close();
  await ot.close();
  await rm(dir, { recursive: true, force: true });
  assert.deepEqual(await leakedResources(), []);
});

test('pytor peers asks every tracker and lists exactly the announced peers', async () => {
  const r = await pytor(['peers', goodFile, '--port', OUR_PORT]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.ok(!r.stdout.includes('\x1b'), 'no escape codes when piped');
  const status = statusLines(r.stdout);
  assert.equal(status.length, 4, r.stdout);
  for (const url of [bt.httpUrl, bt.udpUrl, ot.httpUrl, ot.udpUrl]) {
    const line = status.find((l) => l.includes(` ${url} `));
    assert.ok(line, `a status line for ${url}`);
    // Counted while pytor itself was in the swarm as a leecher.
    assert.match(line, /^ok .* 1 seeders, 3 leechers, interval \d+s, 4 peers$/);
  }
  assert.deepEqual(peerLines(r.stdout), FAKE_LINES);
  // It said `stopped`: neither tracker keeps pytor as a ghost peer.
  assert.deepEqual(await rawScrape(ot.httpUrl.replace(/announce$/, 'scrape'), good.infoHash), { complete: 1, incomplete: 2 });
  assert.deepEqual(bt.counts(good.hex), { complete: 1, incomplete: 2 });
});

test('pytor peers --json gives the stable fields', async () => {
  const r = await pytor(['peers', goodFile, '--json', '--port', OUR_PORT, '--timeout', '10']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    trackers: { url: string; ok: boolean; error: string | null; interval: number; complete: number; incomplete: number; peers: string[] }[];
    peers: string[];
  };
  assert.deepEqual(j.trackers.map((t) => t.url).sort(), [bt.httpUrl, bt.udpUrl, ot.httpUrl, ot.udpUrl].sort());
  for (const t of j.trackers) {
    assert.equal(t.ok, true, t.error ?? '');
    assert.equal(t.error, null);
    assert.equal(t.complete, 1);
    assert.equal(t.incomplete, 3);
    assert.ok(t.interval > 0);
    // The tracker's own list includes pytor; the merged list below does not.
    assert.deepEqual(t.peers.sort(), [...FAKE_LINES, `127.0.0.1:${OUR_PORT}`].sort());
  }
  assert.deepEqual([...j.peers].sort(), FAKE_LINES);
});

test('when no tracker answers: status lines, one-line reason, exit 1, within --timeout', async () => {
  // A UDP tracker that never answers and an HTTP port nobody listens on.
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, V4, () => r()));
  const closed = http.createServer().listen(0, V4);
  await new Promise((r) => closed.once('listening', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const udpUrl = `udp://${V4}:${silent.address().port}/announce`;
  const httpUrl = `http://${V4}:${deadPort}/announce`;
  try {
    const file = await torrentFile('dead', makeTorrent('dead', { announceList: [[udpUrl], [httpUrl]] }));
    const r = await pytor(['peers', file, '--timeout', '1']);
    assert.equal(r.code, 1);
    assert.equal(r.signal, null);
    assert.equal(r.stderr, 'pytor: none of the 2 trackers answered\n');
    const status = statusLines(r.stdout);
    assert.equal(status.length, 2);
    assert.ok(status.some((l) => l.startsWith(`error ${udpUrl}  `) && /no reply within 1s/.test(l)), r.stdout);
    assert.ok(status.some((l) => l.startsWith(`error ${httpUrl}  connection refused`)), r.stdout);
    assert.deepEqual(peerLines(r.stdout), []);
  } finally {
    silent.close();
  }
});

test('a hostile failure reason cannot drive the terminal; one tracker gives its reason in the exit line', async () => {
  const srv = http.createServer((_req, res) => res.end(encode({ 'failure reason': 'denied\x1b]0;pwned\x07\r\nok fake' })));
  srv.listen(0, V4);
  await new Promise((r) => srv.once('listening', r));
  try {
    const url = `http://${V4}:${(srv.address() as AddressInfo).port}/announce`;
    const file = await torrentFile('hostile', makeTorrent('hostile', { announce: url }));
    const r = await pytor(['peers', file, '--no-dht']);
    assert.equal(r.code, 1);
    assert.ok(!/[\x00-\x09\x0b-\x1f\x7f]/.test(r.stdout + r.stderr), JSON.stringify(r.stdout + r.stderr));
    assert.equal(statusLines(r.stdout).length, 1);
    assert.match(r.stdout, /^error .*denied\\x1b\]0;pwned\\x07\\x0d\\x0aok fake\n$/);
    assert.match(r.stderr, /^pytor: no tracker answered: tracker says: denied\\x1b.*\n$/);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

test('bad arguments and unreadable torrents are one-line errors', async () => {
  const bad = await pytor(['peers', goodFile, '--timeout', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--timeout/);
  const missing = await pytor(['peers', path.join(dir, 'nope.torrent')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^pytor: .*nope\.torrent: no such file\n$/);
  const noTrackers = await pytor(['peers', await torrentFile('none', makeTorrent('none', {})), '--no-dht']);
  assert.equal(noTrackers.code, 1);
  assert.equal(noTrackers.stderr, 'pytor: the torrent lists no trackers (and the DHT is off)\n');
});
