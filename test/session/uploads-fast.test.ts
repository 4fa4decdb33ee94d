// Serving under the fast extension (BEP 6): requests we will not serve are rejected (while
// choked, for pieces we lack, on a full queue, and every queued one when we choke), pieces of
// the allowed-fast set are served while choked, and without BEP 6 nothing is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { PeerConnection } from '../../src/peer/connection.js';
import type { Message } from '../../src/wire/index.js';
import { Uploader } from '../../src/session/uploads.js';
import { makeTorrent } from '../storage/fixture.js';

const torrent = makeTorrent('fast', [{ path: ['f'], data: Buffer.alloc(10 * 16384, 7) }], 16384, false);

function fakePeer(fast: boolean) {
  const sent: Message[] = [];
  const blocks: string[] = [];
  const peer = {
    label: 'p',
    fast,
    amChoking: true,
    peerInterested: true,
    uploadRate: 0,
    downloadRate: 0,
    isClosed: false,
    canUpload: true,
    socket: new EventEmitter(),
    allowedFastToPeer: new Set<number>([2, 5]),
    send(m: Message) {
      if (m.type === 'choke') peer.amChoking = true;
      if (m.type === 'unchoke') peer.amChoking = false;
      sent.push(m);
    },
    sendBlock(index: number, begin: number) {
      blocks.push(`${index}:${begin}`);
    },
  };
  return { peer, conn: peer as unknown as PeerConnection, sent, blocks };
}

function uploader(has: (i: number) => boolean = () => true): Uploader {
  return new Uploader({
    torrent,
    has,
    readBlock: async (_i, _b, length) => ({ data: Buffer.alloc(length), release: () => {} }),
    seeding: () => true,
    warn: (m) => assert.fail(m),
    random: () => 0,
  });
}

const settle = () => new Promise((r) => setTimeout(r, 10));
const rejects = (sent: Message[]) => sent.filter((m) => m.type === 'reject').map((m) => (m.type === 'reject' ? `${m.index}:${m.begin}` : ''));

test('choked: allowed-fast pieces are served, others rejected', async () => {
  const { conn, sent, blocks } = fakePeer(true);
  const up = uploader();
  assert.equal(up.request(conn, { index: 2, begin: 0, length: 16384 }), true);
  assert.equal(up.request(conn, { index: 3, begin: 16384 - 16384, length: 16384 }), true);
  await settle();
  assert.deepEqual(blocks, ['2:0']);
  assert.deepEqual(rejects(sent), ['3:0']);
});

test('a request for a piece we lack is rejected', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  const up = uploader((i) => i !== 4);
  up.request(conn, { index: 4, begin: 0, length: 16384 });
  up.request(conn, { index: 1, begin: 0, length: 16384 });
  await settle();
  assert.deepEqual(rejects(sent), ['4:0']);
  assert.deepEqual(blocks, ['1:0']);
});

test('choking a peer rejects every queued request except allowed-fast ones', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  peer.canUpload = false; // the socket is full: requests stay queued
  const up = uploader();
  for (const index of [1, 2, 3]) up.request(conn, { index, begin: 0, length: 16384 });
  await settle();
  peer.send({ type: 'choke' });
  up.choked(conn);
  // 1 was taken by the pump (waiting for room) before the choke; it is rejected when it wakes.
  peer.canUpload = true;
  peer.socket.emit('drain');
  await settle();
  assert.deepEqual(rejects(sent).sort(), ['1:0', '3:0']);
  assert.deepEqual(blocks, ['2:0']);
});

test('without the fast extension nothing is rejected: requests while choked are dropped', async () => {
  const { conn, sent, blocks } = fakePeer(false);
  const up = uploader();
  up.request(conn, { index: 3, begin: 0, length: 16384 });
  await settle();
  assert.deepEqual(sent, []);
  assert.deepEqual(blocks, []);
});

test('a bad request is still a protocol error (false), fast or not', () => {
  const { conn } = fakePeer(true);
  assert.equal(uploader().request(conn, { index: 99, begin: 0, length: 16384 }), false);
});
