// A torrent made by `node bin/pytor.js create --web-seed URL` is fetched whole from that URL
// through WebSeed: every piece comes back and verifies.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseMagnet } from '../../src/magnet/index.js';
import { parseTorrent, torrentFromInfo } from '../../src/metainfo/index.js';
import { WebSeed, WebSeedSet } from '../../src/webseed/index.js';
import { prng } from '../helpers/random.js';
import { startRangeServer, type RangeServer } from './range-server.js';

const BIN = fileURLToPath(new URL('../../../bin/pytor.js', import.meta.url));
const run = promisify(execFile);

let dir: string;
let server: RangeServer;
const served = new Map<string, Buffer>();

function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pytor-webseed-create-'));
  // A folder whose files do not line up with pieces, and one single file.
  const layout: [string, number][] = [
    ['album/one.bin', 40_000],
    ['album/sub dir/two #2.bin', 70_001],
    ['album/three.txt', 513],
    ['single.iso', 100_000],
  ];
  for (const [rel, size] of layout) {
    const data = randomBytes(size, size);
    await mkdir(path.dirname(path.join(dir, 'data', rel)), { recursive: true });
    await writeFile(path.join(dir, 'data', rel), data);
    served.set(`/files/${rel}`, data);
  }
  server = await startRangeServer(served);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function createAndFetch(what: string, webSeed: string): Promise<void> {
  const out = path.join(dir, `${what}.torrent`);
  await run(process.execPath, [BIN, 'create', path.join(dir, 'data', what), '-o', out, '-l', '16K', '--web-seed', webSeed, '--no-date'], {
    timeout: 30_000,
  });
  const torrent = parseTorrent(await readFile(out));
  assert.deepEqual(torrent.urlList, [webSeed]);
  const seed = new WebSeed(torrent.urlList[0]!, torrent);
  try {
    for (let i = 0; i < torrent.pieces.length; i++) await seed.fetchPiece(i); // rejects unless verified
    assert.equal(seed.stats.pieces, torrent.pieces.length);
    assert.equal(seed.stats.bytes, torrent.length);
    assert.equal(seed.stats.failures, 0);
  } finally {
    seed.close();
  }
}

test('multi-file torrent from pytor create: every piece from the web seed verifies', async () => {
  await createAndFetch('album', `${server.origin}/files/`);
});

test('single-file torrent from pytor create: every piece from the web seed verifies', async () => {
  await createAndFetch('single.iso', `${server.origin}/files/single.iso`);
});

test('a magnet ws= web seed serves the torrent once its info is known', async () => {
  const out = path.join(dir, 'album-magnet.torrent');
  await run(process.execPath, [BIN, 'create', path.join(dir, 'data', 'album'), '-o', out, '-l', '16K', '--no-date'], { timeout: 30_000 });
  const made = parseTorrent(await readFile(out));
  assert.deepEqual(made.urlList, []);
  const link = `magnet:?xt=urn:btih:${made.infoHashHex}&dn=album&ws=${encodeURIComponent(`${server.origin}/files/`)}`;
  const magnet = parseMagnet(link);
  // As after a BEP 9 metadata fetch: the info dict's bytes, the link's sources.
  const torrent = torrentFromInfo(made.infoBytes);
  const { set, skipped } = WebSeedSet.fromUrls([...torrent.urlList, ...magnet.webSeeds], torrent);
  try {
    assert.deepEqual(skipped, []);
    assert.equal(set.size, 1);
    for (let i = 0; i < torrent.pieces.length; i++) {
      const seed = set.usable()[0];
      assert.ok(seed, `a usable seed for piece ${i}`);
      assert.ok(await set.fetch(seed, i), `piece ${i}`);
    }
    assert.equal(set.info()[0]!.stats.bytes, torrent.length);
  } finally {
    set.close();
  }
});
