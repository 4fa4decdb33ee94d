// The peer connection's side of BEP 6 over a fake socket: the fast bit counts only when both
// sides set it; with it a choke keeps our requests (the peer rejects each it will not serve,
// and a reject frees that one at once), allowed-fast pieces are remembered (bounded); without
// it a choke drops every request and allowed-fast is ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { MAX_ALLOWED_FAST, PeerConnection, type BlockRequest, type PeerHandler } from '../../src/peer/connection.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/index.js';
import { FakeSocket } from './fake-socket.js';


const infoHash = Buffer.alloc(20, 7);
const FAST = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x04]);

function setup(ours: Buffer, theirs: Buffer) {
  const socket = new FakeSocket();
  const dropped: BlockRequest[] = [];
  const handler: PeerHandler = {
    onReady: () => undefined,
    onMessage: () => undefined,
    onBlock: () => undefined,
    onRequestsDropped: (_p, reqs) => {
      dropped.push(...reqs);
    },
    onClose: () => undefined,
  };
  const peer = new PeerConnection(socket as unknown as Socket, { host: '127.0.0.1', port: 6881 }, { infoHash, peerId: Buffer.alloc(20, 1), pieceCount: 200, reserved: ours }, handler);
  socket.emit('data', encodeHandshake({ infoHash, peerId: Buffer.alloc(20, 2), reserved: theirs }));
  socket.emit('data', encodeMessage({ type: 'unchoke' }));
  peer.request(3, 0, 16384);
  peer.request(3, 16384, 16384);
  peer.flush();
  return { peer, socket, dropped };
}

test('both fast: a choke keeps requests; each reject frees one at once', () => {
  const { peer, socket, dropped } = setup(FAST, FAST);
  assert.equal(peer.fast, true);
  socket.emit('data', encodeMessage({ type: 'choke' }));
  assert.equal(peer.requestCount, 2);
  assert.equal(dropped.length, 0);
  socket.emit('data', encodeMessage({ type: 'reject', index: 3, begin: 16384, length: 16384 }));
  assert.equal(peer.requestCount, 1);
  assert.deepEqual(dropped.map((r) => `${r.index}:${r.begin}`), ['3:16384']);
  // A reject for something never asked changes nothing.
  socket.emit('data', encodeMessage({ type: 'reject', index: 9, begin: 0, length: 16384 }));
  assert.equal(dropped.length, 1);
});

test('both fast: allowed-fast pieces are remembered, bounded, and in range', () => {
  const { peer, socket } = setup(FAST, FAST);
  for (let i = 0; i < 200; i++) socket.emit('data', encodeMessage({ type: 'allowed-fast', index: i }));
  assert.equal(peer.allowedFastFromPeer.size, MAX_ALLOWED_FAST);
  assert.ok(peer.isReady);
  socket.emit('data', encodeMessage({ type: 'suggest', index: 5 })); // accepted, no effect
  assert.ok(peer.isReady);
});

test('only one side fast: a choke drops every request (BEP 3) and allowed-fast is ignored', () => {
  for (const [ours, theirs] of [[FAST, Buffer.alloc(8)], [Buffer.alloc(8), FAST]] as const) {
    const { peer, socket, dropped } = setup(ours, theirs);
    assert.equal(peer.fast, false);
    socket.emit('data', encodeMessage({ type: 'allowed-fast', index: 4 }));
    assert.equal(peer.allowedFastFromPeer.size, 0);
    socket.emit('data', encodeMessage({ type: 'choke' }));
    assert.equal(peer.requestCount, 0);
    assert.equal(dropped.length, 2);
  }
});
