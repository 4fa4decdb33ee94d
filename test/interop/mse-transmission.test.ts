// MSE/PE (src/mse) against transmission-daemon 3.00 with encryption required (settings
// `encryption: 2`, set over RPC as "required"), at the transport level. We dial in both
// roles: Transmission drops 127.x peers it hears of, so it never dials us on loopback; the
// data flows both ways instead (we download from a Transmission seeder, and serve a whole
// torrent to a Transmission leecher), each over an RC4 stream Transmission accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectEncrypted, dialWithPolicy } from '../../src/mse/index.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { makePayload } from './harness/payload.js';
import { ltInfo, makeTorrent } from './harness/libtorrent.js';
import { startTransmissionLeecher, startTransmissionSeeder } from './harness/transmission.js';
import { setTransmissionEncryption } from './harness/transmission-enc.js';
import { WirePeer, fullBitfield, serveAll } from './harness/bt-peer.js';

const CASE_MS = 150_000;
const PIECE = 16 * 1024;
const SIZE = 7 * PIECE + 999;

interface Ctx {
  after(fn: () => Promise<unknown> | unknown): void;
}

async function fixture(t: Ctx) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-mse-tr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, { files: [{ path: 'tr.bin', size: SIZE }] }, 'mse-tr');
  const torrentFile = path.join(dir, 'tr.torrent');
  await makeTorrent({ dataPath: path.join(seedDir, 'tr.bin'), pieceLength: PIECE, outFile: torrentFile });
  const info = await ltInfo(torrentFile);
  const data = await readFile(path.join(seedDir, 'tr.bin'));
  return { dir, seedDir, torrentFile, infoHash: Buffer.from(info.infoHash, 'hex'), pieceCount: info.numPieces, data };
}

function dialer(port: number): () => Promise<Socket> {
  return () =>
    new Promise((resolve, reject) => {
      const s = connect({ host: LOOPBACK, port });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
}

test('MSE out: a Transmission seeder with encryption required serves a block over our RC4 stream, and hangs up on plaintext', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const tr = await startTransmissionSeeder({ torrentFile: f.torrentFile, dataDir: f.seedDir, port: await freePort('both') });
  t.after(() => tr.stop());
  await setTransmissionEncryption(tr, 'required');

  // Plaintext first: Transmission must refuse it, or the encrypted case below proves nothing.
  const plain = await dialWithPolicy(dialer(tr.port), { infoHash: f.infoHash, policy: 'off' });
  const plainPeer = new WirePeer(plain.socket, { pieceCount: f.pieceCount, timeoutMs: 10_000 });
  plainPeer.sendHandshake(f.infoHash);
  await assert.rejects(plainPeer.handshake(), /closed/);

  const c = await connectEncrypted(await dialer(tr.port)(), { infoHash: f.infoHash, policy: 'prefer', timeoutMs: 10_000 });
  assert.equal(c.method, 'rc4');
  const peer = new WirePeer(c.socket, { pieceCount: f.pieceCount, timeoutMs: 60_000 });
  peer.sendHandshake(f.infoHash);
  assert.deepEqual((await peer.handshake()).infoHash, f.infoHash);
  const bf = await peer.next(['bitfield', 'have-all']);
  if (bf.type === 'bitfield') assert.deepEqual(bf.bitfield, fullBitfield(f.pieceCount));
  peer.send({ type: 'interested' });
  await peer.next('unchoke'); // Transmission unchokes at its next rechoke (~10 s)
  const last = f.pieceCount - 1;
  const length = SIZE - last * PIECE;
  peer.send({ type: 'request', index: last, begin: 0, length });
  const piece = await peer.next('piece');
  assert.deepEqual(piece.block, f.data.subarray(last * PIECE));
  c.socket.destroy();
});

test('MSE out: a Transmission leecher with encryption required downloads the whole torrent from us over RC4', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const saveDir = path.join(f.dir, 'leech');
  const tr = await startTransmissionLeecher({ torrentFile: f.torrentFile, saveDir, port: await freePort('both') });
  t.after(() => tr.stop());
  await setTransmissionEncryption(tr, 'required');
  const c = await connectEncrypted(await dialer(tr.port)(), { infoHash: f.infoHash, policy: 'require', timeoutMs: 10_000 });
  assert.equal(c.method, 'rc4');
  const peer = new WirePeer(c.socket, { pieceCount: f.pieceCount, timeoutMs: 60_000 });
  peer.sendHandshake(f.infoHash);
  assert.deepEqual((await peer.handshake()).infoHash, f.infoHash);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const serving = serveAll(peer, f.data, PIECE, f.pieceCount, stopped);
  try {
    await tr.waitForComplete(90_000);
  } finally {
    stop();
  }
  const served = await serving;
  assert.ok(served.blocks >= f.pieceCount, `served ${served.blocks} blocks (${served.end})`);
  assert.deepEqual(await readFile(path.join(saveDir, 'tr.bin')), f.data);
});
