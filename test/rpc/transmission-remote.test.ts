// The real `transmission-remote` (Debian's transmission-cli 3.00) against the RPC server and
// the in-memory engine: what it prints is what the engine said, and what it sends changes the
// engine as the command means. Its --debug output is the log of what it really sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseTorrent } from '../../src/metainfo/index.js';
import { startRpcServer, type RpcServer } from '../../src/rpc/index.js';
import { makeTorrent, MemoryEngine } from './memory-engine.js';

const BIN = '/usr/bin/transmission-remote';
const FIXTURE = resolve('test', 'fixtures', 'real', 'mktorrent-multi-256k-tiers.torrent');
const skip = existsSync(BIN) ? false : 'transmission-remote (transmission-cli) is not installed';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON requests it posted, from its --debug output (each once, though sent twice around a 409). */
  sent: Record<string, any>[];
}

let home = '';

/** Runs transmission-remote with --debug; never rejects (the exit code is in the result). */
function tr(port: number, ...args: string[]): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(BIN, [`127.0.0.1:${port}`, '--debug', ...args], { timeout: 20_000, env: { ...process.env, HOME: home }, encoding: 'utf8' }, (err, stdout, stderr) => {
      const posted = [...stderr.matchAll(/posting:\n-+\n(.*)\n/g)].map((m) => m[1]!);
      const sent = [...new Set(posted)].map((s) => JSON.parse(s) as Record<string, any>);
      const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
      resolveRun({ code, stdout, stderr, sent });
    });
  });
}

/** `-l` rows as objects, split on its fixed columns (Name is the rest of the line). */
function parseList(stdout: string): Record<string, string>[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /^\s+ID\s+Done\s+Have\s+ETA\s+Up\s+Down\s+Ratio\s+Status\s+Name/.test(l));
  assert.ok(header >= 0, `no -l header in:\n${stdout}`);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(header + 1)) {
    if (line.startsWith('Sum:') || line.trim() === '') continue;
    const m = /^\s*(\d+)(\*?)\s+(\S+%|n\/a)\s+(.+?)\s{2,}(\S+(?: \S+)?)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(Up & Down|Will Verify|\S+(?: \(\d+%\))?)\s+(.*)$/.exec(line);
    assert.ok(m, `unparsed -l line: ${JSON.stringify(line)}`);
    rows.push({ id: m[1]!, error: m[2]!, done: m[3]!, have: m[4]!, eta: m[5]!, up: m[6]!, down: m[7]!, ratio: m[8]!, status: m[9]!, name: m[10]! });
  }
  return rows;
}

function field(stdout: string, label: string): string {
  const m = new RegExp(`^\\s*${label}:\\s*(.*)$`, 'm').exec(stdout);
  assert.ok(m, `no "${label}:" in:\n${stdout}`);
  return m[1]!.trim();
}

const nowS = () => Math.floor(Date.now() / 1000);
let engine: MemoryEngine;
let server: RpcServer;

function reset(): void {
  engine.list.length = 0;
  engine.calls.length = 0;
  engine.put(
    makeTorrent(1, {
      name: 'ubuntu-24.04.iso',
      totalBytes: 4_000_000,
      wantedBytes: 4_000_000,
      wantedVerifiedBytes: 1_000_000,
      verifiedBytes: 1_000_000,
      downloadedBytes: 1_000_000,
      uploadedBytes: 500_000,
      downloadRate: 250_000,
      uploadRate: 12_000,
      etaSeconds: 7200,
      peersConnected: 4,
      peersSendingToUs: 3,
      peersGettingFromUs: 1,
      files: [
        { path: 'ubuntu-24.04.iso', length: 4_000_000, verifiedBytes: 1_000_000, wanted: true, priority: 'normal' },
      ],
      fileCount: 1,
      peers: [
        { address: '10.1.2.3', port: 51413, client: 'Transmission 3.00', progress: 0.5, downloadRate: 200_000, uploadRate: 0, incoming: false, encrypted: true, utp: false, amChoking: true, amInterested: true, peerChoking: false, peerInterested: false },
      ],
      trackers: [{ url: 'http://tracker.example:6969/announce', tier: 0, lastAnnounce: { at: nowS() - 120, ok: true, message: 'Success', peers: 12 }, seeders: 40, leechers: 7, nextAnnounceAt: nowS() + 1800 }],
    }),
  );
  engine.put(
    makeTorrent(2, {
      name: 'photos',
      state: 'seeding',
      totalBytes: 2_000_000,
      wantedBytes: 2_000_000,
      wantedVerifiedBytes: 2_000_000,
      verifiedBytes: 2_000_000,
      uploadedBytes: 4_000_000,
      uploadRate: 30_000,
      peersGettingFromUs: 2,
      files: [
        { path: 'photos/a.jpg', length: 500_000, verifiedBytes: 500_000, wanted: true, priority: 'normal' },
        { path: 'photos/b.jpg', length: 1_500_000, verifiedBytes: 1_500_000, wanted: true, priority: 'high' },
      ],
      fileCount: 2,
    }),
  );
  engine.put(makeTorrent(3, { name: 'broken', state: 'error', error: 'No space left on device', totalBytes: 1_000_000, wantedBytes: 1_000_000 }));
  engine.put(makeTorrent(4, { name: 'paused-thing', state: 'stopped', totalBytes: 1_000_000, wantedBytes: 1_000_000, wantedVerifiedBytes: 500_000, verifiedBytes: 500_000 }));
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'pytor-rpc-tr-'));
  engine = new MemoryEngine();
  server = await startRpcServer({ engine, port: 0 });
});
after(async () => {
  await server?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('-l shows the names, percent, have, ETA, rates, ratio and status the engine gave', { skip }, async () => {
  reset();
  const run = await tr(server.port, '-l');
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.equal(run.sent[0]!.method, 'torrent-get');
  assert.equal(run.sent[0]!.arguments.ids, undefined, '-l asks for all torrents');
  const rows = parseList(run.stdout);
  assert.deepEqual(
    rows.map((r) => [r.id, r.error, r.done, r.have, r.eta, r.up, r.down, r.ratio, r.status, r.name]),
    [
      ['1', '', '25%', '1.00 MB', '2 hrs', '12.0', '250.0', '0.5', 'Up & Down', 'ubuntu-24.04.iso'],
      ['2', '', '100%', '2.00 MB', 'Done', '30.0', '0.0', '2.0', 'Seeding', 'photos'],
      ['3', '*', '0%', 'None', 'Unknown', '0.0', '0.0', 'None', 'Stopped', 'broken'],
      ['4', '', '50%', '500.0 kB', 'Unknown', '0.0', '0.0', '0.0', 'Stopped', 'paused-thing'],
    ],
  );
  assert.match(run.stdout, /^Sum:\s+3\.50 MB\s+42\.0\s+250\.0$/m);
});

test('-t N -i shows the details; -t N -f the files; -ip peers; -it trackers', { skip }, async () => {
  reset();
  const info = await tr(server.port, '-t', '1', '-i');
  assert.equal(info.code, 0, info.stderr.slice(-2000));
  assert.equal(info.sent[0]!.arguments.ids, 1);
  assert.equal(field(info.stdout, 'Name'), 'ubuntu-24.04.iso');
  assert.equal(field(info.stdout, 'Hash'), engine.byId(1).infoHashHex);
  assert.equal(field(info.stdout, 'State'), 'Up & Down');
  assert.equal(field(info.stdout, 'Location'), '/data/downloads');
  assert.equal(field(info.stdout, 'Percent Done'), '25.0%');
  assert.equal(field(info.stdout, 'ETA'), '2 hours (7200 seconds)');
  assert.equal(field(info.stdout, 'Download Speed'), '250 kB/s');
  assert.equal(field(info.stdout, 'Peers'), 'connected to 4, uploading to 1, downloading from 3');
  assert.match(field(info.stdout, 'Magnet'), new RegExp(`^magnet:\\?xt=urn:btih:${engine.byId(1).infoHashHex}&dn=ubuntu-24.04.iso`));

  const err = await tr(server.port, '-t', '3', '-i');
  assert.equal(field(err.stdout, 'Error'), 'No space left on device');

  const files = await tr(server.port, '-t', '2', '-f');
  assert.equal(files.code, 0);
  assert.match(files.stdout, /^photos \(2 files\):/m);
  assert.match(files.stdout, /^\s+0: 100% Normal\s+Yes\s+500\.0 kB\s+photos\/a\.jpg$/m);
  assert.match(files.stdout, /^\s+1: 100% High\s+Yes\s+1\.50 MB\s+photos\/b\.jpg$/m);

  const peers = await tr(server.port, '-t', '1', '-ip');
  assert.deepEqual(peers.sent[0]!.arguments.fields, ['peers']);
  assert.match(peers.stdout, /^10\.1\.2\.3\s+DE\s+50\.0\s+200\.0\s+0\.0\s+Transmission 3\.00$/m);

  const trackers = await tr(server.port, '-t', '1', '-it');
  assert.equal(trackers.code, 0);
  assert.match(trackers.stdout, /Tracker 0: http:\/\/tracker\.example:6969/);
  assert.match(trackers.stdout, /Got a list of 12 peers 2 minutes(, \d+ seconds?)? \(12\d seconds\) ago/);
  assert.match(trackers.stdout, /Asking for more peers in (29|30) minutes/);
});

test('-G marks files unwanted, -g wanted again (what it sends, and what the engine did)', { skip }, async () => {
  reset();
  const run = await tr(server.port, '-t', '2', '-G', '1');
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  assert.deepEqual(run.sent[0], { arguments: { 'files-unwanted': [1], ids: 2 }, method: 'torrent-set' });
  assert.deepEqual(engine.byId(2).files.map((f) => f.wanted), [true, false]);
  const files = await tr(server.port, '-t', '2', '-f');
  assert.match(files.stdout, /^\s+1: 100% High\s+No\s+1\.50 MB\s+photos\/b\.jpg$/m);
  await tr(server.port, '-t', '2', '-g', 'all');
  assert.deepEqual(engine.byId(2).files.map((f) => f.wanted), [true, true]);
  const bad = await tr(server.port, '-t', '2', '-G', '7');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, /file index out of range: 7/);
});

test('-S stops and -s starts (by id and by hash); -v verifies; --reannounce', { skip }, async () => {
  reset();
  let run = await tr(server.port, '-t', '1', '-S');
  assert.equal(run.code, 0);
  assert.deepEqual(run.sent[0], { arguments: { ids: 1 }, method: 'torrent-stop' });
  assert.equal(engine.byId(1).state, 'stopped');
  assert.equal(parseList((await tr(server.port, '-l')).stdout)[0]!.status, 'Stopped');
  run = await tr(server.port, '-t', engine.byId(1).infoHashHex, '-s');
  assert.equal(run.code, 0);
  assert.equal(run.sent[0]!.arguments.ids, engine.byId(1).infoHashHex);
  assert.equal(engine.byId(1).state, 'downloading');
  run = await tr(server.port, '-t', '1,2', '-v');
  assert.deepEqual(run.sent[0], { arguments: { ids: [1, 2] }, method: 'torrent-verify' });
  assert.deepEqual(parseList((await tr(server.port, '-l')).stdout).slice(0, 2).map((r) => r.status), ['Verifying', 'Verifying']);
  engine.byId(4).activityAt = nowS();
  const active = await tr(server.port, '-t', 'active', '-l');
  assert.equal(active.sent[0]!.arguments.ids, 'recently-active');
  assert.deepEqual(parseList(active.stdout).map((r) => r.id), ['4']);
  run = await tr(server.port, '-t', 'all', '--reannounce');
  assert.equal(run.code, 0);
  assert.deepEqual(engine.calls.at(-1), { method: 'reannounce', args: [[1, 2, 3, 4]] });
});

test('-d and -u set session limits alone, torrent limits with -t; -sr a torrent ratio', { skip }, async () => {
  reset();
  let run = await tr(server.port, '-d', '100', '-u', '20');
  assert.equal(run.code, 0);
  assert.deepEqual(run.sent[0], { arguments: { 'speed-limit-down': 100, 'speed-limit-down-enabled': true, 'speed-limit-up': 20, 'speed-limit-up-enabled': true }, method: 'session-set' });
  assert.equal(engine.settings.downloadLimit, 100_000);
  assert.equal(engine.settings.uploadLimit, 20_000);
  const si = await tr(server.port, '-si');
  assert.match(si.stdout, /Download speed limit: 100 kB\/s/);
  run = await tr(server.port, '-t', '1', '-d', '50', '-u', '5', '-sr', '1.5');
  assert.equal(run.code, 0, run.stdout);
  assert.equal(engine.byId(1).downloadLimit, 50_000);
  assert.equal(engine.byId(1).uploadLimit, 5_000);
  assert.equal(engine.byId(1).ratioLimit, 1.5);
  const info = await tr(server.port, '-t', '1', '-i');
  assert.equal(field(info.stdout, 'Download Limit'), '50 kB/s');
  assert.equal(field(info.stdout, 'Upload Limit'), '5 kB/s');
  assert.equal(field(info.stdout, 'Ratio Limit'), '1.5');
  run = await tr(server.port, '-t', '1', '-D', '-U');
  assert.equal(engine.byId(1).downloadLimit, undefined);
  assert.equal(engine.byId(1).uploadLimit, undefined);
  run = await tr(server.port, '-D');
  assert.equal(engine.settings.downloadLimit, null);
  run = await tr(server.port, '-gsr', '2.5');
  assert.equal(run.code, 0, run.stdout);
  assert.equal(engine.settings.seedRatioLimit, 2.5);
  assert.match((await tr(server.port, '-si')).stdout, /Default seed ratio limit: 2\.5$/m);
  run = await tr(server.port, '-GSR');
  assert.equal(engine.settings.seedRatioLimit, null);
  run = await tr(server.port, '-t', '1', '-pr', '20');
  assert.equal(engine.byId(1).peerLimit, 20);
});

test('-r removes keeping the data; --remove-and-delete asks for the data to go too', { skip }, async () => {
  reset();
  let run = await tr(server.port, '-t', '4', '-r');
  assert.equal(run.code, 0);
  assert.deepEqual(run.sent[0], { arguments: { 'delete-local-data': false, ids: 4 }, method: 'torrent-remove' });
  assert.deepEqual(engine.calls.at(-1), { method: 'remove', args: [[4], false] });
  run = await tr(server.port, '-t', '3', '--remove-and-delete');
  assert.equal(run.code, 0);
  assert.deepEqual(engine.calls.at(-1), { method: 'remove', args: [[3], true] });
  assert.deepEqual(parseList((await tr(server.port, '-l')).stdout).map((r) => r.name), ['ubuntu-24.04.iso', 'photos']);
});

test('-a file.torrent (sent as metainfo), with -w and --start-paused; -a magnet:...; a duplicate', { skip }, async () => {
  reset();
  const torrent = parseTorrent(readFileSync(FIXTURE));
  let run = await tr(server.port, '--start-paused', '-a', FIXTURE, '-w', '/srv/incoming');
  assert.equal(run.code, 0, run.stdout + run.stderr.slice(-2000));
  const add = run.sent.find((s) => s.method === 'torrent-add')!;
  assert.equal(typeof add.arguments.metainfo, 'string');
  assert.equal(add.arguments['download-dir'], '/srv/incoming');
  const added = engine.list.at(-1)!;
  assert.equal(added.infoHashHex, torrent.infoHashHex);
  assert.equal(added.name, torrent.name);
  assert.equal(added.downloadDir, '/srv/incoming');
  assert.equal(engine.settings.startAddedTorrents, false, '--start-paused is a session setting');
  assert.match(run.stdout, /responded: "success"/);

  const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=from%20a%20link&tr=http://127.0.0.1:1/announce`;
  run = await tr(server.port, '-a', magnet);
  assert.equal(run.code, 0, run.stdout);
  assert.equal(run.sent.find((s) => s.method === 'torrent-add')!.arguments.filename, magnet);
  const m = engine.list.at(-1)!;
  assert.equal(m.infoHashHex, 'ab'.repeat(20));
  assert.equal(m.state, 'metadata');
  const row = parseList((await tr(server.port, '-l')).stdout).find((r) => r.id === String(m.id))!;
  assert.equal(row.name, 'from a link');

  const count = engine.list.length;
  run = await tr(server.port, '-a', FIXTURE);
  assert.equal(run.code, 0);
  assert.equal(engine.list.length, count, 'a duplicate adds nothing');

  run = await tr(server.port, '-a', '/nonexistent/elsewhere.torrent');
  assert.notEqual(run.code, 0, 'a path the server cannot read is an error');
  assert.match(run.stdout, /cannot open.*ENOENT/);
});

test('-si, -st and -pt', { skip }, async () => {
  reset();
  const si = await tr(server.port, '-si');
  assert.equal(si.code, 0);
  assert.match(si.stdout, /Daemon version: 0\.1\.0 \(pytor\)/);
  assert.match(si.stdout, /RPC version: 16/);
  assert.match(si.stdout, /Listenport: 51413/);
  assert.match(si.stdout, /Download directory: \/data\/downloads/);
  const st = await tr(server.port, '-st');
  assert.equal(st.code, 0);
  assert.match(st.stdout, /Started 3 times/);
  assert.match(st.stdout, /Uploaded:\s+4\.50 MB/);
  const pt = await tr(server.port, '-pt');
  assert.notEqual(pt.code, 0, 'an engine that cannot tell says so');
  assert.match(pt.stdout, /cannot tell whether its peer port is reachable/);
  engine.portOpen = true;
  const open = await tr(server.port, '-pt');
  assert.equal(open.code, 0);
  assert.match(open.stdout, /Port is open: Yes/);
  engine.portOpen = null;
});

test('-n user:pass against a server with auth; without it or with a wrong one, refused', { skip }, async () => {
  reset();
  const authed = await startRpcServer({ engine, port: 0, auth: { user: 'alice', pass: 'wonder land' } });
  try {
    const ok = await tr(authed.port, '-n', 'alice:wonder land', '-l');
    assert.equal(ok.code, 0, ok.stderr.slice(-2000));
    assert.equal(parseList(ok.stdout).length, 4);
    const none = await tr(authed.port, '-l');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /401/);
    const wrong = await tr(authed.port, '-n', 'alice:wrong', '-l');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /401/);
  } finally {
    await authed.close();
  }
});
