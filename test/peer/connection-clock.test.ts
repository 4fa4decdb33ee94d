// One peer connection on a fake clock over a fake socket: handshake and idle timeouts,
// keep-alives, and snubbing timed from when each request was sent (with cancels), never from
// the last block that happened to arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { PeerConnection, type BlockRequest, type PeerHandler } from '../../src/peer/connection.js';
import type { PeerError } from '../../src/peer/errors.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/index.js';
import { FakeSocket } from './fake-socket.js';


const infoHash = Buffer.alloc(20, 7);

function setup() {
  let now = 1_000_000;
  const socket = new FakeSocket();
  const dropped: BlockRequest[][] = [];
  const closed: PeerError[] = [];
  const hooks: { onMessage?: PeerHandler['onMessage'] } = {};
  const handler: PeerHandler = {
    onReady: () => undefined,
    onMessage: (p, m) => hooks.onMessage?.(p, m),
    onBlock: () => undefined,
    onRequestsDropped: (_p, reqs) => dropped.push([...reqs]),
    onClose: (_p, reason) => closed.push(reason),
  };
  const peer = new PeerConnection(
    socket as unknown as Socket,
    { host: '127.0.0.1', port: 6881 },
    { infoHash, peerId: Buffer.alloc(20, 1), pieceCount: 8, reserved: Buffer.alloc(8), now: () => now },
    handler,
  );
  const handshake = () => socket.emit('data', encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 2), reserved: Buffer.alloc(8) }));
  const advance = (ms: number) => {
    now += ms;
    peer.tick();
  };
  return { peer, socket, dropped, closed, handshake, advance, hooks };
}

test('no handshake within 10 s closes the connection', () => {
  const { advance, closed, socket } = setup();
  advance(9_999);
  assert.equal(closed.length, 0);
  advance(2);
  assert.equal(closed[0]?.code, 'EPEER_HANDSHAKE');
  assert.ok(socket.destroyed);
});

test('keep-alive after 60 s of our silence; closed after 180 s of theirs', () => {
  const { advance, closed, socket, handshake } = setup();
  handshake();
  advance(60_001);
  assert.deepEqual(socket.messages().map((m) => m.type), ['keep-alive']);
  advance(60_000);
  advance(59_999);
  assert.equal(closed.length, 0, 'not idle yet at 179.999 s');
  advance(2);
  assert.equal(closed[0]?.code, 'EPEER_IDLE');
});

test('snubbed when the oldest request has waited 20 s since it was sent: cancels go out, requests come back', () => {
  const { peer, socket, dropped, handshake, advance } = setup();
  handshake();
  socket.emit('data', encodeMessage({ type: 'unchoke' }));
  peer.request(0, 0, 16_384);
  peer.flush();
  advance(15_000);
  // A block arrives for a request sent now; the first is still unanswered.
  peer.request(1, 0, 16_384);
  peer.flush();
  advance(4_000);
  socket.emit('data', encodeMessage({ type: 'piece', index: 1, begin: 0, block: Buffer.alloc(16_384) }));
  assert.equal(peer.snubbed, false);
  advance(1_001);
  assert.equal(peer.snubbed, true, 'a recent block does not hide a request unanswered for 20 s');
  assert.deepEqual(dropped, [[{ index: 0, begin: 0, length: 16_384, sentAt: 1_000_000 }]]);
  const cancels = socket.messages().filter((m) => m.type === 'cancel');
  assert.deepEqual(cancels, [{ type: 'cancel', index: 0, begin: 0, length: 16_384 }]);
  assert.equal(peer.requestCount, 0);
  // Alive again once a block we ask for arrives.
  peer.request(2, 0, 16_384);
  peer.flush();
  socket.emit('data', encodeMessage({ type: 'piece', index: 2, begin: 0, block: Buffer.alloc(16_384) }));
  assert.equal(peer.snubbed, false);
});

test('a later bitfield replaces the earlier view and says what it replaced', () => {
  const { peer, socket, handshake, hooks } = setup();
  const seen: (string | undefined)[] = [];
  hooks.onMessage = (p) => seen.push(p.replacedHas?.toBuffer().toString('hex'));
  handshake();
  socket.emit('data', encodeMessage({ type: 'have', index: 0 }));
  socket.emit('data', encodeMessage({ type: 'bitfield', bitfield: Buffer.from([0b01100000]) }));
  assert.deepEqual(seen, [undefined, '80']);
  assert.equal(peer.has.get(0), false);
  assert.equal(peer.has.get(1), true);
  assert.equal(peer.replacedHas, undefined, 'only during the call');
});
