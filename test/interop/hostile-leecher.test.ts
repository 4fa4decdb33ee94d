// A hand-made hostile leecher against a seeding session (in this process, so every storage
// read can be watched): requests outside the torrent or the piece, or longer than a block, end
// the connection before anything is read. Also: the listener routes only served torrents and
// takes IPv4 and IPv6 peers on one dual-stack socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTorrent } from '../../src/metainfo/create.js';
import { parseTorrent, type Torrent } from '../../src/metainfo/index.js';
import { PeerListener } from '../../src/session/listener.js';
import { TorrentSession } from '../../src/session/session.js';
import { TorrentStorage } from '../../src/storage/index.js';
import { encodeHandshake, encodeMessage, Framer, HANDSHAKE_LENGTH, type Message } from '../../src/wire/index.js';

const PIECE = 256 * 1024;
const LENGTH = 3 * PIECE + 1000; // 4 pieces, the last one 1000 bytes
const CASE_MS = 30_000;

interface Reads {
  calls: { index: number; begin: number; length: number }[];
}

/** A seeding session over a payload, a loopback listener, and a record of every storage read. */
async function seeding(t: { after(fn: () => Promise<unknown> | unknown): void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-hostile-'));
  const payload = randomBytes(LENGTH);
  await writeFile(path.join(dir, 'data.bin'), payload);
  const created = await createTorrent(path.join(dir, 'data.bin'), { pieceLength: PIECE, noDate: true });
  const torrent = parseTorrent(created.torrent);

  // Watch the storage: every read the session makes, whatever the path to it.
  const reads: Reads = { calls: [] };
  const proto = TorrentStorage.prototype;
  const { readPiece, readInto } = proto;
  proto.readPiece = function (index: number) {
    reads.calls.push({ index, begin: 0, length: -1 });
    return readPiece.call(this, index);
  };
  proto.readInto = function (index: number, begin: number, target: Buffer) {
    reads.calls.push({ index, begin, length: target.length });
    return readInto.call(this, index, begin, target);
  };
  t.after(() => {
    proto.readPiece = readPiece;
    proto.readInto = readInto;
  });

  const session = new TorrentSession({ torrent, outDir: dir, peerId: randomBytes(20), readOnly: true });
  await session.start();
  assert.equal(session.stats().piecesHave, 4);
  const listener = new PeerListener((hex) => (hex === torrent.infoHashHex ? session.acceptIncoming.bind(session) : undefined));
  const port = await listener.listen(0, '127.0.0.1');
  const peers: RawPeer[] = [];
  // Peers first: the listener's close waits for every connection it accepted to end.
  t.after(async () => {
    for (const p of peers) p.close();
    await session.stop();
    await listener.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** A raw peer that the cleanup will close. */
  const open = async (host = '127.0.0.1', infoHash: Buffer = torrent.infoHash, toPort = port) => {
    const p = await RawPeer.open(toPort, torrent, host, infoHash);
    peers.push(p);
    return p;
  };
  return { dir, torrent, payload, session, listener, port, reads, open };
}

/** The hostile side: a raw TCP peer speaking through pytor's own wire encoders. */
class RawPeer {
  readonly messages: Message[] = [];
  handshake: Buffer | undefined;
  closed = false;
  private buf = Buffer.alloc(0);
  private framer: Framer;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    torrent: Torrent,
  ) {
    this.framer = new Framer({ pieceCount: torrent.pieces.length });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async open(port: number, torrent: Torrent, host = '127.0.0.1', infoHash: Buffer = torrent.infoHash): Promise<RawPeer> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const peer = new RawPeer(socket, torrent);
    socket.write(encodeHandshake({ infoHash, peerId: randomBytes(20), extensionProtocol: false }));
    return peer;
  }

  send(msg: Message): void {
    this.socket.write(encodeMessage(msg));
  }

  /** Resolves true once `check` holds, false after `ms`. */
  async until(check: () => boolean, ms = 10_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Connected, handshaken, told what we have and unchoked: ready to request. */
  async ready(): Promise<void> {
    const ok = await this.until(() => this.messages.some((m) => m.type === 'unchoke') || this.closed);
    assert.ok(ok && !this.closed, 'the seed did not unchoke us');
    this.send({ type: 'interested' });
  }

  pieces(): Extract<Message, { type: 'piece' }>[] {
    return this.messages.filter((m): m is Extract<Message, { type: 'piece' }> => m.type === 'piece');
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.handshake) {
      this.buf = Buffer.concat([this.buf, chunk]);
      if (this.buf.length < HANDSHAKE_LENGTH) return;
      this.handshake = this.buf.subarray(0, HANDSHAKE_LENGTH);
      chunk = this.buf.subarray(HANDSHAKE_LENGTH);
    }
    // The framer keeps the chunk: give it a copy it may own.
    if (chunk.length > 0) this.framer.push(Buffer.from(chunk));
    for (;;) {
      const r = this.framer.next();
      if (r.kind !== 'message') break;
      // Piece blocks are views into framer memory: copy them out.
      this.messages.push(r.msg.type === 'piece' ? { ...r.msg, block: Buffer.from(r.msg.block) } : r.msg);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

test('a valid request is served with the right bytes (the control for the cases below)', { timeout: CASE_MS }, async (t) => {
  const s = await seeding(t);
  const peer = await s.open();
  await peer.ready();
  peer.send({ type: 'request', index: 3, begin: 0, length: 1000 });
  peer.send({ type: 'request', index: 1, begin: PIECE - 16384, length: 16384 });
  assert.ok(await peer.until(() => peer.pieces().length === 2 || peer.closed), 'no blocks came back');
  const [a, b] = peer.pieces();
  assert.ok(a && b);
  assert.deepEqual(a.block, s.payload.subarray(3 * PIECE, 3 * PIECE + 1000));
  assert.deepEqual(b.block, s.payload.subarray(2 * PIECE - 16384, 2 * PIECE));
  assert.equal(peer.closed, false);
});

const HOSTILE: [string, { index: number; begin: number; length: number }][] = [
  ['index = pieceCount', { index: 4, begin: 0, length: 16384 }],
  ['index = 2^32 - 1', { index: 0xffff_ffff, begin: 0, length: 16384 }],
  ['begin + length past the end of a piece', { index: 0, begin: PIECE - 8192, length: 16384 }],
  ['begin past the end of a piece', { index: 1, begin: PIECE, length: 16384 }],
  ['begin near 2^32', { index: 1, begin: 0xffff_fff0, length: 16384 }],
  ['a block past the short last piece', { index: 3, begin: 0, length: 16384 }],
  ['length 64 KiB', { index: 0, begin: 0, length: 64 * 1024 }],
];

for (const [what, req] of HOSTILE) {
  test(`hostile request (${what}) ends the connection and reads nothing`, { timeout: CASE_MS }, async (t) => {
    const s = await seeding(t);
    const peer = await s.open();
    await peer.ready();
    // encodeMessage writes whatever it is given, as a hostile peer's would.
    peer.send({ type: 'request', ...req });
    assert.ok(await peer.until(() => peer.closed), 'the seed kept the connection open');
    assert.deepEqual(peer.pieces(), [], 'the seed answered a bad request');
    assert.equal(s.reads.calls.length, 0, `the seed read the storage for a bad request: ${JSON.stringify(s.reads.calls)}`);
    assert.equal(s.session.stats().uploaded, 0);

    // The seed is unharmed: a well-behaved peer is still served.
    const good = await s.open();
    await good.ready();
    good.send({ type: 'request', index: 2, begin: 16384, length: 16384 });
    assert.ok(await good.until(() => good.pieces().length === 1 || good.closed));
    assert.deepEqual(good.pieces()[0]?.block, s.payload.subarray(2 * PIECE + 16384, 2 * PIECE + 32768));
    for (const r of s.reads.calls) assert.ok(r.index < s.torrent.pieces.length, `read of piece ${r.index}`);
  });
}

test('a handshake for a torrent not being served is dropped without an answer', { timeout: CASE_MS }, async (t) => {
  const s = await seeding(t);
  const peer = await s.open('127.0.0.1', randomBytes(20));
  assert.ok(await peer.until(() => peer.closed), 'the listener kept a connection for an unknown torrent');
  assert.equal(peer.handshake, undefined);
});

test('with no --bind the listener takes IPv4 and IPv6 peers on one port', { timeout: CASE_MS }, async (t) => {
  const s = await seeding(t);
  const dual = new PeerListener((hex) => (hex === s.torrent.infoHashHex ? s.session.acceptIncoming.bind(s.session) : undefined));
  const port = await dual.listen(0);
  // Hooks run in order: this one after the fixture's, once its peers are closed.
  t.after(() => dual.close());
  for (const host of ['127.0.0.1', '::1']) {
    const peer = await s.open(host, s.torrent.infoHash, port);
    assert.ok(await peer.until(() => peer.handshake !== undefined || peer.closed), `no handshake over ${host}`);
    assert.ok(peer.handshake, `closed over ${host}`);
    assert.deepEqual(peer.handshake.subarray(28, 48), s.torrent.infoHash);
  }
});

test('seeding read-only leaves the data folder untouched', { timeout: CASE_MS }, async (t) => {
  const s = await seeding(t);
  const before = await readFile(path.join(s.dir, 'data.bin'));
  const peer = await s.open();
  await peer.ready();
  peer.send({ type: 'request', index: 0, begin: 0, length: 16384 });
  assert.ok(await peer.until(() => peer.pieces().length === 1));
  await s.session.stop();
  assert.deepEqual(await readFile(path.join(s.dir, 'data.bin')), before);
});
