// MSE/PE (src/mse) against real libtorrent 2.0 on 127.0.0.1, at the transport level: the
// encrypted handshake, then BitTorrent spoken over the resulting stream with pytor's wire
// codec. libtorrent is forced to encrypt (out_enc_policy/in_enc_policy pe_forced,
// allowed_enc_level pe_rc4) unless a case says otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  acceptIncoming,
  classifyIncoming,
  connectEncrypted,
  dialWithPolicy,
  makeInfoHashFinder,
  MseError,
  type EncryptionPolicy,
} from '../../src/mse/index.js';
import { freePort, LOOPBACK } from './harness/ports.js';
import { makePayload } from './harness/payload.js';
import { ltInfo, makeTorrent } from './harness/libtorrent.js';
import { startLibtorrentEnc, type LtEncOptions } from './harness/libtorrent-enc.js';
import { WirePeer, fullBitfield, serveAll } from './harness/bt-peer.js';

const CASE_MS = 90_000;
const PIECE = 16 * 1024;
const SIZE = 5 * PIECE + 1234; // 6 pieces, a short last one

interface Ctx {
  after(fn: () => Promise<unknown> | unknown): void;
}

async function fixture(t: Ctx) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-mse-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const seedDir = path.join(dir, 'seed');
  await makePayload(seedDir, { files: [{ path: 'enc.bin', size: SIZE }] }, 'mse');
  const torrentFile = path.join(dir, 'enc.torrent');
  await makeTorrent({ dataPath: path.join(seedDir, 'enc.bin'), pieceLength: PIECE, outFile: torrentFile });
  const info = await ltInfo(torrentFile);
  const data = await readFile(path.join(seedDir, 'enc.bin'));
  return { dir, seedDir, torrentFile, infoHash: Buffer.from(info.infoHash, 'hex'), pieceCount: info.numPieces, data };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

async function ltSeeder(t: Ctx, f: Fixture, enc: Partial<LtEncOptions> = {}) {
  const lt = await startLibtorrentEnc({ mode: 'seed', torrentFile: f.torrentFile, dir: f.seedDir, port: await freePort('both'), ...enc });
  t.after(() => lt.stop());
  return lt;
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

/** Handshake, bitfield, interested, unchoke, one block checked against the payload. */
async function fetchOneBlock(peer: WirePeer, f: Fixture, index: number) {
  peer.sendHandshake(f.infoHash);
  const hs = await peer.handshake();
  assert.deepEqual(hs.infoHash, f.infoHash);
  const bf = await peer.next(['bitfield', 'have-all']);
  if (bf.type === 'bitfield') assert.deepEqual(bf.bitfield, fullBitfield(f.pieceCount), 'the seeder has every piece');
  peer.send({ type: 'interested' });
  await peer.next('unchoke');
  const length = Math.min(PIECE, SIZE - index * PIECE);
  peer.send({ type: 'request', index, begin: 0, length });
  const piece = await peer.next('piece');
  assert.equal(piece.index, index);
  assert.deepEqual(piece.block, f.data.subarray(index * PIECE, index * PIECE + length));
}

test('MSE out: connectEncrypted to a libtorrent seeder forced to RC4, then a block over the stream', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const lt = await ltSeeder(t, f);
  for (const policy of ['require', 'prefer'] as const) {
    const c = await connectEncrypted(await dialer(lt.port)(), { infoHash: f.infoHash, policy, timeoutMs: 10_000 });
    assert.equal(c.method, 'rc4', policy);
    assert.equal(c.encrypted, true);
    const peer = new WirePeer(c.socket, { pieceCount: f.pieceCount });
    await fetchOneBlock(peer, f, policy === 'require' ? 0 : f.pieceCount - 1);
    c.socket.destroy();
  }
});

test('MSE out: our BitTorrent handshake as the initial payload (IA) is accepted by libtorrent', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const lt = await ltSeeder(t, f);
  const { encodeHandshake } = await import('../../src/wire/index.js');
  const hs = encodeHandshake({ infoHash: f.infoHash, peerId: Buffer.alloc(20, 0x61), extensionProtocol: false });
  const c = await connectEncrypted(await dialer(lt.port)(), { infoHash: f.infoHash, policy: 'require', initialPayload: hs, timeoutMs: 10_000 });
  const peer = new WirePeer(c.socket, { pieceCount: f.pieceCount });
  const theirs = await peer.handshake();
  assert.deepEqual(theirs.infoHash, f.infoHash);
  await peer.next(['bitfield', 'have-all']);
  c.socket.destroy();
});

test("MSE out: libtorrent's default (prefer_rc4 off) selects MSE plaintext from our 'prefer' offer; BitTorrent still works", { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const lt = await ltSeeder(t, f, { encPolicy: 'enabled', encLevel: 'both', preferRc4: false });
  const c = await connectEncrypted(await dialer(lt.port)(), { infoHash: f.infoHash, policy: 'prefer', timeoutMs: 10_000 });
  assert.equal(c.method, 'plaintext');
  assert.equal(c.encrypted, false);
  await fetchOneBlock(new WirePeer(c.socket, { pieceCount: f.pieceCount }), f, 2);
  c.socket.destroy();
});

test("MSE out: 'require' refuses a plaintext-only libtorrent; 'prefer' falls back to plain on a new connection", { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const lt = await ltSeeder(t, f, { encPolicy: 'disabled' });
  await assert.rejects(
    dialWithPolicy(dialer(lt.port), { infoHash: f.infoHash, policy: 'require', timeoutMs: 10_000 }),
    (err: unknown) => err instanceof MseError && err.code === 'EMSE_CONNECTION',
  );
  const c = await dialWithPolicy(dialer(lt.port), { infoHash: f.infoHash, policy: 'prefer', timeoutMs: 10_000 });
  assert.equal(c.mse, false);
  await fetchOneBlock(new WirePeer(c.socket, { pieceCount: f.pieceCount }), f, 1);
  c.socket.destroy();
});

/** Our listener, as the session will have it: classify, then acceptIncoming or plain. */
async function listen(t: Ctx, f: Fixture, policy: EncryptionPolicy) {
  const outcomes: { kind: string; method?: string; rest?: Buffer; stream?: import('node:stream').Duplex; err?: Error }[] = [];
  let notify: (() => void) | null = null;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const kind = classifyIncoming(buf, policy);
      if (kind.kind === 'need-more') return;
      socket.off('data', onData);
      const report = (o: (typeof outcomes)[number]) => {
        outcomes.push(o);
        notify?.();
      };
      if (kind.kind === 'refuse') {
        socket.destroy();
        return report({ kind: 'refused', err: kind.err });
      }
      if (kind.kind === 'plain') {
        socket.pause();
        return report({ kind: 'plain', rest: buf, stream: socket });
      }
      acceptIncoming(socket, buf, { findInfoHash: makeInfoHashFinder([f.infoHash]), policy: policy === 'require' ? 'require' : 'prefer', timeoutMs: 10_000 }).then(
        (a) => report({ kind: 'mse', method: a.method, rest: a.rest, stream: a.socket }),
        (err: Error) => report({ kind: 'failed', err }),
      );
    };
    socket.on('data', onData);
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return {
    port: (server.address() as { port: number }).port,
    async nextOutcome(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (outcomes.length === 0) {
        if (Date.now() > deadline) throw new Error('no incoming connection');
        await new Promise<void>((resolve) => {
          const tm = setTimeout(resolve, 200);
          notify = () => {
            clearTimeout(tm);
            resolve();
          };
        });
      }
      return outcomes.shift()!;
    },
  };
}

test('MSE in: a libtorrent leecher forced to RC4 connects to our listener and downloads the torrent through acceptIncoming', { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const srv = await listen(t, f, 'require');
  const leechDir = path.join(f.dir, 'leech');
  const lt = await startLibtorrentEnc({ mode: 'leech', torrentFile: f.torrentFile, dir: leechDir, port: await freePort('both') });
  t.after(() => lt.stop());
  lt.connect(LOOPBACK, srv.port);
  const o = await srv.nextOutcome(20_000);
  assert.equal(o.kind, 'mse', o.err?.message);
  assert.equal(o.method, 'rc4');
  const peer = new WirePeer(o.stream!, { pieceCount: f.pieceCount, rest: o.rest });
  const hs = await peer.handshake();
  assert.deepEqual(hs.infoHash, f.infoHash);
  peer.sendHandshake(f.infoHash);
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const serving = serveAll(peer, f.data, PIECE, f.pieceCount, stopped);
  serving.catch(() => {});
  await lt.waitForComplete(60_000);
  stop();
  const served = await serving;
  assert.ok(served.blocks >= f.pieceCount, `served ${served.blocks} blocks`);
  const got = await readFile(path.join(leechDir, 'enc.bin'));
  assert.deepEqual(got, f.data);
});

test("MSE in: our listener under 'require' refuses a plaintext-only libtorrent; under 'off' it refuses an encrypted one", { timeout: CASE_MS }, async (t) => {
  const f = await fixture(t);
  const strict = await listen(t, f, 'require');
  const plainLt = await startLibtorrentEnc({ mode: 'leech', torrentFile: f.torrentFile, dir: path.join(f.dir, 'l1'), port: await freePort('both'), encPolicy: 'disabled' });
  t.after(() => plainLt.stop());
  plainLt.connect(LOOPBACK, strict.port);
  const o = await strict.nextOutcome(20_000);
  assert.equal(o.kind, 'refused');
  assert.ok(o.err instanceof MseError && o.err.code === 'EMSE_POLICY');

  const off = await listen(t, f, 'off');
  const encLt = await startLibtorrentEnc({ mode: 'leech', torrentFile: f.torrentFile, dir: path.join(f.dir, 'l2'), port: await freePort('both') });
  t.after(() => encLt.stop());
  encLt.connect(LOOPBACK, off.port);
  const o2 = await off.nextOutcome(20_000);
  assert.equal(o2.kind, 'refused');
});
