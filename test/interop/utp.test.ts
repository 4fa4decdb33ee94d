// uTP against the real libtorrent 2.0 forced to uTP only (no TCP either way), on loopback:
// we download a torrent from it over our UtpSocket (every piece's SHA-1 checked) and we seed
// one to it (libtorrent reports the torrent finished, i.e. it verified every piece).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseTorrent } from '../../src/metainfo/index.js';
import { UtpSocket } from '../../src/utp/index.js';
import { makeTorrent } from './harness/libtorrent.js';
import { makePayload, payloadChunks } from './harness/payload.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { startLtUtp } from '../utp/lt-utp-harness.js';
import { downloadAll, serveAll } from '../utp/mini-peer.js';

const SIZE = 6 * 1024 * 1024 + 12_345; // a short last piece too
const PIECE = 256 * 1024;
const SEED = 'utp-interop';

async function fixture(): Promise<{ dir: string; torrentFile: string; payload: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-utp-'));
  const dataDir = path.join(dir, 'seed');
  await mkdir(dataDir);
  await makePayload(dataDir, { files: [{ path: 'utp.bin', size: SIZE }] }, SEED);
  const torrentFile = path.join(dir, 'utp.torrent');
  await makeTorrent({ dataPath: path.join(dataDir, 'utp.bin'), pieceLength: PIECE, trackers: [], outFile: torrentFile, v1Only: true });
  const payload = Buffer.concat([...payloadChunks(SEED, 'utp.bin', SIZE)]);
  return { dir, torrentFile, payload };
}

test('uTP: download from a libtorrent seeder that speaks only uTP', { timeout: 120_000 }, async () => {
  const f = await fixture();
  const torrent = parseTorrent(await readFile(f.torrentFile));
  const ltPort = await freePort('both');
  const lt = await startLtUtp({ mode: 'seed', torrentFile: f.torrentFile, saveDir: path.join(f.dir, 'seed'), port: ltPort });
  const sock = await UtpSocket.bind(0, LOOPBACK);
  try {
    const stream = await sock.connect({ host: LOOPBACK, port: ltPort }, 10_000);
    assert.equal(stream.remotePort, ltPort);
    const r = await downloadAll(stream, torrent, { peerId: randomBytes(20), pipeline: 128 });
    stream.destroy();
    assert.equal(r.remoteBitfieldComplete, true);
    assert.deepEqual(r.badPieces, []);
    assert.equal(r.piecesVerified, torrent.pieces.length);
    assert.equal(r.bytes, SIZE);
    console.log(`uTP download from libtorrent: ${(SIZE / 1e6 / r.seconds).toFixed(1)} MB/s`);
  } finally {
    await sock.close();
    await lt.stop();
    await rm(f.dir, { recursive: true, force: true });
  }
});

test('uTP: seed to a libtorrent leecher that speaks only uTP', { timeout: 120_000 }, async () => {
  const f = await fixture();
  const torrent = parseTorrent(await readFile(f.torrentFile));
  const sock = await UtpSocket.bind(0, LOOPBACK);
  const served: Promise<unknown>[] = [];
  sock.on('connection', (stream) => {
    served.push(
      serveAll(stream, torrent, { peerId: randomBytes(20), read: (off, len) => f.payload.subarray(off, off + len) }).catch((err: Error) => err),
    );
  });
  const ltPort = await freePort('both');
  const saveDir = path.join(f.dir, 'leech');
  await mkdir(saveDir);
  const lt = await startLtUtp({ mode: 'leech', torrentFile: f.torrentFile, saveDir, port: ltPort, peers: [[LOOPBACK, sock.port]] });
  try {
    await lt.waitForComplete(90_000);
    const got = await readFile(path.join(saveDir, 'utp.bin'));
    assert.equal(got.length, SIZE);
    assert.ok(got.equals(f.payload), 'libtorrent wrote the same bytes');
    assert.ok(served.length >= 1, 'libtorrent connected over uTP');
  } finally {
    await lt.stop();
    await sock.close();
    await Promise.all(served);
    await rm(f.dir, { recursive: true, force: true });
  }
});
