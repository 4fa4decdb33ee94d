// WebSeed and WebSeedSet against a Range-capable HTTP server on 127.0.0.1 (test/webseed/range-server.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { WebSeed, WebSeedError, WebSeedSet } from '../../src/webseed/index.js';
import { prng } from '../helpers/random.js';
import { makeTorrent, pieceOf, streamOf, type FileSpec } from '../storage/fixture.js';
import { startRangeServer, type RangeServer } from './range-server.js';

function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

// Single file: 10 pieces of 16 KiB and a short last one.
const single: FileSpec[] = [{ path: ['disk.img'], data: randomBytes(16 * 1024 * 10 + 1234, 1) }];
const singleT = makeTorrent('disk.img', single, 16 * 1024, false);
// Multi-file with names that need encoding, an empty file, a file smaller than a piece, a pad file.
const multi: FileSpec[] = [
  { path: ['a dir', 'first #1.bin'], data: randomBytes(20_000, 2) },
  { path: ['empty'], data: Buffer.alloc(0) },
  { path: ['tiny 100%'], data: randomBytes(300, 3) },
  { path: ['.pad', '1000'], data: Buffer.alloc(1000), padding: true },
  { path: ['é', 'last?.dat'], data: randomBytes(30_001, 4) },
];
const multiT = makeTorrent('Set of files', multi, 8 * 1024);

let server: RangeServer;

function files(): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  m.set('/pub/disk.img', single[0]!.data);
  for (const f of multi) if (!f.padding) m.set(`/pub/Set of files/${f.path.join('/')}`, f.data);
  return m;
}

before(async () => {
  server = await startRangeServer(files());
});
after(async () => {
  await server.close();
});

test('single-file: every piece comes back verified over one kept-alive connection', async () => {
  server.mode = 'ok';
  const before = server.connections();
  const seed = new WebSeed(`${server.origin}/pub/`, singleT);
  try {
    const stream = streamOf(single);
    for (let i = 0; i < singleT.pieces.length; i++) {
      const piece = await seed.fetchPiece(i);
      assert.ok(piece.equals(pieceOf(singleT, stream, i)), `piece ${i}`);
    }
    assert.equal(seed.stats.pieces, singleT.pieces.length);
    assert.equal(seed.stats.bytes, singleT.length);
    assert.equal(server.connections() - before, 1, 'keep-alive: one TCP connection for all ranges');
  } finally {
    seed.close();
  }
});

test('multi-file: pieces that span files (empty, tiny, padded) are assembled from several ranges', async () => {
  server.mode = 'ok';
  const seed = new WebSeed(`${server.origin}/pub`, multiT); // no trailing slash: supplied
  const mark = server.requests.length;
  try {
    const stream = streamOf(multi);
    for (let i = 0; i < multiT.pieces.length; i++) {
      const piece = await seed.fetchPiece(i);
      assert.ok(piece.equals(pieceOf(multiT, stream, i)), `piece ${i}`);
    }
    const asked = server.requests.slice(mark);
    // Piece 2 (bytes 16384..24575) covers the end of the first file, the tiny one, the pad and the last file.
    assert.ok(asked.includes('/pub/Set%20of%20files/a%20dir/first%20%231.bin bytes=16384-19999'), asked.join('\n'));
    assert.ok(asked.includes('/pub/Set%20of%20files/tiny%20100%25 bytes=0-299'));
    assert.ok(asked.includes('/pub/Set%20of%20files/%C3%A9/last%3F.dat bytes=0-3275'));
    assert.ok(!asked.some((r) => r.includes('.pad') || r.includes('/empty ')), 'pad and empty files are never asked for');
  } finally {
    seed.close();
  }
});

test('a redirect is followed', async () => {
  server.mode = 'redirect-once';
  const seed = new WebSeed(`${server.origin}/pub/`, singleT);
  try {
    assert.ok((await seed.fetchPiece(3)).equals(pieceOf(singleT, streamOf(single), 3)));
  } finally {
    seed.close();
    server.mode = 'ok';
  }
});

async function failure(mode: RangeServer['mode'], opts: { timeoutMs?: number } = {}): Promise<WebSeedError> {
  server.mode = mode;
  const seed = new WebSeed(`${server.origin}/pub/`, singleT, opts);
  try {
    await seed.fetchPiece(2);
  } catch (err) {
    assert.ok(err instanceof WebSeedError, String(err));
    return err;
  } finally {
    seed.close();
    server.mode = 'ok';
  }
  assert.fail(`mode ${mode} gave a piece`);
}

test('misbehaving servers fail with a typed error naming the seed', async () => {
  const cases: [RangeServer['mode'], string, boolean][] = [
    ['wrong-bytes', 'EWEBSEED_HASH', false],
    ['status-500', 'EWEBSEED_STATUS', false],
    ['ignore-range', 'EWEBSEED_NO_RANGE', true],
    ['truncate', 'EWEBSEED_TRUNCATED', false],
    ['too-long', 'EWEBSEED_TOO_LONG', false],
    ['wrong-range', 'EWEBSEED_BAD_RANGE', false],
    ['redirect-loop', 'EWEBSEED_REDIRECT', true],
  ];
  for (const [mode, code, permanent] of cases) {
    const err = await failure(mode);
    assert.equal(err.code, code, `${mode}: ${err.message}`);
    assert.equal(err.permanent, permanent, mode);
    assert.equal(err.url, `${server.origin}/pub/`);
  }
  const stall = await failure('stall', { timeoutMs: 200 });
  assert.equal(stall.code, 'EWEBSEED_TIMEOUT');
  assert.match(stall.detail, /no data for 200 ms/);
});

test('a server that trickles (alive, but below the minimum rate) times out', async () => {
  server.mode = 'trickle';
  // 16 KiB at >= 64 KiB/s must take under 100 ms idle grace + 250 ms.
  const seed = new WebSeed(`${server.origin}/pub/`, singleT, { timeoutMs: 100, minRateBytesPerSec: 64 * 1024 });
  try {
    await assert.rejects(seed.fetchPiece(0), (e: unknown) => e instanceof WebSeedError && e.code === 'EWEBSEED_TIMEOUT' && /slower than 65536 B\/s/.test(e.detail));
  } finally {
    seed.close();
    server.mode = 'ok';
  }
});

test('https: pieces verify over TLS, on one kept-alive connection of a shared agent', async () => {
  const fixture = (name: string) => readFileSync(new URL(`../../../test/webseed/fixtures/${name}`, import.meta.url));
  const cert = fixture('loopback-cert.pem');
  const tlsServer = await startRangeServer(files(), 'ok', { key: fixture('loopback-key.pem'), cert });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert });
  const seed = new WebSeed(`${tlsServer.origin}/pub/`, multiT, { agents: { https: agent } });
  try {
    assert.match(tlsServer.origin, /^https:/);
    const stream = streamOf(multi);
    for (let i = 0; i < multiT.pieces.length; i++) assert.ok((await seed.fetchPiece(i)).equals(pieceOf(multiT, stream, i)));
    assert.equal(tlsServer.connections(), 1);
  } finally {
    seed.close();
    agent.destroy();
    await tlsServer.close();
  }
});

test('a redirect loop stops after 5 redirects', async () => {
  const mark = server.requests.length;
  await failure('redirect-loop');
  assert.equal(server.requests.length - mark, 6, 'the first request and 5 redirects');
});

test('a 404 (file not on the server) is permanent', async () => {
  const seed = new WebSeed(`${server.origin}/elsewhere/`, singleT);
  try {
    await assert.rejects(seed.fetchPiece(0), (e: unknown) => e instanceof WebSeedError && e.status === 404 && e.permanent);
  } finally {
    seed.close();
  }
});

test('bytes that fail the hash are counted against the seed', async () => {
  server.mode = 'wrong-bytes';
  const seed = new WebSeed(`${server.origin}/pub/`, singleT);
  try {
    await assert.rejects(seed.fetchPiece(0), { code: 'EWEBSEED_HASH' });
    assert.deepEqual(seed.stats, { bytes: 0, pieces: 0, badBytes: 16 * 1024, hashFailures: 1, failures: 1 });
  } finally {
    seed.close();
    server.mode = 'ok';
  }
});

test('WebSeedSet: failures back off on the injected clock, doubling, then drop with one warning', async () => {
  server.mode = 'status-500';
  let now = 1_000_000;
  const warnings: string[] = [];
  const { set } = WebSeedSet.fromUrls([`${server.origin}/pub/`], singleT, {}, {
    now: () => now,
    backoffMs: 1000,
    maxFailures: 3,
    onWarning: (line) => warnings.push(line),
  });
  try {
    const [seed] = set.usable();
    assert.ok(seed);
    assert.equal(await set.fetch(seed, 0), undefined);
    assert.deepEqual(set.usable(), [], 'backed off');
    assert.equal(set.nextRetryAt(), now + 1000);
    assert.equal(set.info()[0]!.state, 'backoff');
    await assert.rejects(set.fetch(seed, 0), /not usable now/);
    now += 999;
    assert.deepEqual(set.usable(), []);
    now += 1;
    assert.deepEqual(set.usable(), [seed]);
    assert.equal(await set.fetch(seed, 0), undefined);
    assert.equal(set.nextRetryAt(), now + 2000, 'second backoff doubles');
    assert.deepEqual(warnings, []);
    now += 2000;
    assert.equal(await set.fetch(seed, 0), undefined);
    assert.equal(set.info()[0]!.state, 'dropped');
    assert.equal(set.alive, 0);
    assert.deepEqual(set.usable(), []);
    assert.equal(set.nextRetryAt(), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^web seed http:\/\/127\.0\.0\.1:\d+\/pub\/ dropped: 3 failures in a row, the last: HTTP 500$/);
  } finally {
    set.close();
    server.mode = 'ok';
  }
});

test('WebSeedSet: a success resets the failure count; a permanent failure drops at once', async () => {
  let now = 0;
  const warnings: string[] = [];
  const { set } = WebSeedSet.fromUrls([`${server.origin}/pub/`], singleT, {}, { now: () => now, backoffMs: 10, onWarning: (l) => warnings.push(l) });
  try {
    const seed = set.usable()[0]!;
    server.mode = 'status-500';
    assert.equal(await set.fetch(seed, 1), undefined);
    now += 10;
    server.mode = 'ok';
    assert.ok(await set.fetch(seed, 1));
    assert.equal(set.info()[0]!.consecutiveFailures, 0);
    assert.deepEqual(set.usable(), [seed]);
    server.mode = 'ignore-range';
    assert.equal(await set.fetch(seed, 1), undefined);
    assert.equal(set.info()[0]!.state, 'dropped');
    assert.match(warnings[0] ?? '', /dropped: the server ignores Range requests/);
  } finally {
    set.close();
    server.mode = 'ok';
  }
});

test('WebSeedSet: the second piece with bad data drops the seed', async () => {
  let now = 0;
  const warnings: string[] = [];
  const { set } = WebSeedSet.fromUrls([`${server.origin}/pub/`], singleT, {}, { now: () => now, backoffMs: 10, onWarning: (l) => warnings.push(l) });
  server.mode = 'wrong-bytes';
  try {
    const seed = set.usable()[0]!;
    assert.equal(await set.fetch(seed, 0), undefined);
    assert.equal(set.info()[0]!.state, 'backoff');
    now += 10;
    assert.equal(await set.fetch(seed, 1), undefined);
    assert.equal(set.info()[0]!.state, 'dropped');
    assert.equal(set.info()[0]!.stats.badBytes, 2 * 16 * 1024);
    assert.match(warnings[0] ?? '', /dropped: 2 pieces failed their hash check$/);
  } finally {
    set.close();
    server.mode = 'ok';
  }
});

test('WebSeedSet: a cancel is not held against the seed; unsupported schemes and duplicates are skipped', async () => {
  const { set, skipped } = WebSeedSet.fromUrls(
    [`${server.origin}/pub/`, 'ftp://example.invalid/x', `${server.origin}/pub/`],
    singleT,
    {},
    { now: () => 0 },
  );
  server.mode = 'stall';
  try {
    assert.equal(set.size, 1);
    assert.deepEqual(skipped, ['ftp://example.invalid/x']);
    const seed = set.usable()[0]!;
    const ac = new AbortController();
    const pending = set.fetch(seed, 0, ac.signal);
    assert.equal(set.info()[0]!.state, 'busy');
    assert.deepEqual(set.usable(), []);
    setTimeout(() => ac.abort(), 50);
    assert.equal(await pending, undefined);
    assert.equal(set.info()[0]!.state, 'ready');
    assert.equal(seed.stats.failures, 0);
  } finally {
    set.close();
    server.mode = 'ok';
  }
});

test('close() cancels a request in flight', async () => {
  server.mode = 'stall';
  const seed = new WebSeed(`${server.origin}/pub/`, singleT);
  const pending = seed.fetchPiece(0);
  setTimeout(() => seed.close(), 50);
  await assert.rejects(pending, { code: 'EWEBSEED_CLOSED' });
  await assert.rejects(seed.fetchPiece(0), { code: 'EWEBSEED_CLOSED' });
  server.mode = 'ok';
});
