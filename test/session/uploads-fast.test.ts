// Serving under the fast extension (BEP 6): requests we will not serve are rejected (while
// choked, for pieces we lack, on a full queue, and every queued one when we choke), pieces of
// the allowed-fast set are served while choked, and without BEP 6 nothing is rejected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { PeerConnection } from '../../src/peer/connection.js';
import type { Message } from '../../src/wire/index.js';
import { Uploader } from '../../src/session/uploads.js';
import type { BlockLease } from '../../src/session/read-cache.js';
import { OUR_REQQ } from '../../src/session/extensions.js';
import { makeTorrent } from '../storage/fixture.js';

const torrent = makeTorrent('fast', [{ path: ['f'], data: Buffer.alloc(10 * 16384, 7) }], 16384, false);

function fakePeer(fast: boolean, label = 'p') {
  const sent: Message[] = [];
  const blocks: string[] = [];
  const peer = {
    label,
    fast,
    amChoking: true,
    amChokingSince: 0,
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
    sendBlock(index: number, begin: number, _data: Buffer, done?: () => void) {
      blocks.push(`${index}:${begin}`);
      done?.(); // the socket is done with it at once
    },
  };
  return { peer, conn: peer as unknown as PeerConnection, sent, blocks };
}

function uploader(
  has: (i: number) => boolean = () => true,
  more: Partial<ConstructorParameters<typeof Uploader>[0]> = {},
): Uploader {
  return new Uploader({
    torrent,
    has,
    readBlock: async (_i, _b, length) => ({ data: Buffer.alloc(length), release: () => {} }),
    seeding: () => true,
    warn: (m) => assert.fail(m),
    random: () => 0,
    ...more,
  });
}

/** A disk read that finishes when the test says so. */
function heldReads() {
  const waiting: (() => void)[] = [];
  let unreleased = 0;
  const readBlock = (_i: number, _b: number, length: number) =>
    new Promise<BlockLease>((resolve) =>
      waiting.push(() => {
        unreleased++;
        let done = false;
        resolve({ data: Buffer.alloc(length), release: () => void (done ? 0 : ((done = true), unreleased--)) });
      }),
    );
  return {
    readBlock,
    release: () => waiting.splice(0).forEach((go) => go()),
    get count() {
      return waiting.length;
    },
    /** Leases handed out and not yet released (a lease dropped on a reject must still be released). */
    get unreleased() {
      return unreleased;
    },
  };
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

test('a block being read from disk when we choke is rejected once and never sent', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  const reads = heldReads();
  const up = uploader(undefined, { readBlock: reads.readBlock });
  up.request(conn, { index: 1, begin: 0, length: 16384 });
  up.request(conn, { index: 3, begin: 0, length: 16384 });
  await settle();
  assert.equal(reads.count, 1, 'the pump reads one block at a time');
  peer.send({ type: 'choke' });
  up.choked(conn); // 3 is queued: rejected now; 1 is on its way from the disk
  assert.deepEqual(rejects(sent), ['3:0']);
  reads.release();
  await settle();
  assert.deepEqual(rejects(sent), ['3:0', '1:0']);
  assert.deepEqual(blocks, []);
  assert.equal(reads.unreleased, 0, 'the lease of the rejected block went back to the cache');
});

test('choked and unchoked again while its block is read: the block is sent, never rejected', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  const reads = heldReads();
  const up = uploader(undefined, { readBlock: reads.readBlock });
  up.request(conn, { index: 1, begin: 0, length: 16384 });
  await settle();
  peer.send({ type: 'choke' });
  up.choked(conn);
  peer.send({ type: 'unchoke' });
  reads.release();
  await settle();
  assert.deepEqual(rejects(sent), []);
  assert.deepEqual(blocks, ['1:0']);
  assert.equal(reads.unreleased, 0, 'the socket released the lease of the block it sent');
});

test('a block that cannot be read is rejected, and the requests behind it are still served', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  const warnings: string[] = [];
  const up = uploader(undefined, {
    readBlock: async (i, _b, length) => {
      if (i === 1) throw new Error('EIO');
      return { data: Buffer.alloc(length), release: () => {} };
    },
    warn: (m) => warnings.push(m),
  });
  for (const index of [1, 3]) up.request(conn, { index, begin: 0, length: 16384 });
  await settle();
  assert.deepEqual(rejects(sent), ['1:0']);
  assert.deepEqual(blocks, ['3:0']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /EIO/);
});

test('a choke round with one upload slot: the peer it chokes gets a reject for each queued request, once', async () => {
  const a = fakePeer(true, 'a');
  const b = fakePeer(true, 'b');
  const c = fakePeer(true, 'c');
  a.peer.amChoking = false;
  a.peer.uploadRate = 100;
  b.peer.amChoking = false; // unchoked last round (optimistic); not waiting
  b.peer.uploadRate = 50;
  b.peer.canUpload = false; // its socket is full: its requests wait in the queue
  c.peer.amChokingSince = 1_000; // has waited since it came
  const up = uploader(undefined, { uploadSlots: 1 });
  for (const index of [1, 3, 4]) up.request(b.conn, { index, begin: 0, length: 16384 });
  await settle();
  up.tick(100_000, [a.conn, b.conn, c.conn]); // a round that rotates the optimistic slot
  assert.equal(b.peer.amChoking, true, 'b loses the slot to c, which waited');
  assert.equal(c.peer.amChoking, false);
  assert.equal(a.peer.amChoking, false);
  assert.deepEqual(b.sent.map((m) => m.type).slice(0, 1), ['choke'], 'the choke goes before its rejects');
  b.peer.canUpload = true;
  b.peer.socket.emit('drain');
  await settle();
  assert.deepEqual(rejects(b.sent).sort(), ['1:0', '3:0', '4:0']);
  assert.deepEqual(b.blocks, []);
  assert.deepEqual(rejects(a.sent), []);
});

test('beyond OUR_REQQ queued requests the next one is rejected, and the queue is still served in full', async () => {
  const { peer, conn, sent, blocks } = fakePeer(true);
  peer.amChoking = false;
  peer.canUpload = false; // the socket is full: requests wait
  const up = uploader();
  // The first is taken by the pump (waiting for room), OUR_REQQ wait in the queue, the next is one too many.
  const total = OUR_REQQ + 2;
  for (let n = 0; n < total; n++) up.request(conn, { index: n % 10, begin: 0, length: 16384 });
  await settle();
  assert.deepEqual(rejects(sent), [`${(total - 1) % 10}:0`]);
  peer.canUpload = true;
  peer.socket.emit('drain');
  await settle();
  assert.equal(blocks.length, total - 1);
  assert.equal(rejects(sent).length, 1);
});
