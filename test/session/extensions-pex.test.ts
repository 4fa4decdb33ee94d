// The session's ut_pex over fake sockets: the flags we send for each connected peer (0x04 for
// one over uTP or known to speak it, 0x02 for a seed, 0x10 for one we dialled, 0x01 for one whose
// handshake said `e: 1`) and the flags of received entries handed on with the addresses; and the
// `e` of our own handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { Torrent } from '../../src/metainfo/index.js';
import { PeerConnection, type PeerHandler } from '../../src/peer/connection.js';
import type { Transport } from '../../src/peer/stream.js';
import { EXT_UT_PEX, SessionExtensions } from '../../src/session/extensions.js';
import { PEX_INTERVAL_MS } from '../../src/session/pex.js';
import { decodeExtendedHandshake, decodeUtPex, encodeExtendedHandshake, encodeHandshake, encodeMessage, encodeUtPex, type PexPeer } from '../../src/wire/index.js';
import { FakeSocket } from '../peer/fake-socket.js';

const infoHash = Buffer.alloc(20, 9);
const torrent = { private: false, infoBytes: Buffer.alloc(0) } as unknown as Torrent;
const handler: PeerHandler = { onReady: () => undefined, onMessage: () => undefined, onBlock: () => undefined, onRequestsDropped: () => undefined, onClose: () => undefined };
let nextId = 10;

function connect(port: number, opts: { transport?: Transport; incoming?: boolean } = {}): { peer: PeerConnection; socket: FakeSocket } {
  const socket = new FakeSocket();
  const theirs = { infoHash, peerId: Buffer.alloc(20, nextId++), reserved: Buffer.alloc(8) };
  theirs.reserved[5] = 0x10; // BEP 10
  const peer = new PeerConnection(
    socket as unknown as Socket,
    { host: '127.0.0.1', port },
    { infoHash, peerId: Buffer.alloc(20, 1), pieceCount: 8, reserved: Buffer.alloc(8), transport: opts.transport, accepted: opts.incoming ? { handshake: theirs, rest: Buffer.alloc(0) } : undefined },
    handler,
  );
  if (!opts.incoming) socket.emit('data', encodeHandshake(theirs));
  assert.ok(peer.isReady);
  return { peer, socket };
}

test('PEX we send carries 0x04 uTP, 0x02 seed, 0x10 dialled and 0x01 prefers encryption per peer', () => {
  const clock = { t: PEX_INTERVAL_MS };
  const learned: PexPeer[] = [];
  const recipient = connect(7000);
  const overUtp = connect(7001, { transport: 'utp' }); // dialled over uTP: 0x14
  const seed = connect(7002); // dialled over TCP, has every piece: 0x12
  const incoming = connect(40000, { incoming: true }); // dialled us over TCP, listens on 7003: 0x00
  const knownUtp = connect(7004); // TCP now, but spoke uTP before: 0x14
  const encrypting = connect(7005); // dialled over TCP, its handshake said e=1: 0x11
  const peers = [recipient, overUtp, seed, incoming, knownUtp, encrypting].map((c) => c.peer);
  const ext = new SessionExtensions({
    torrent,
    listenPort: () => 6881,
    readyPeers: () => peers,
    addPeers: (p) => learned.push(...p),
    knowsUtp: (p) => p === knownUtp.peer,
    now: () => clock.t,
  });
  seed.socket.emit('data', encodeMessage({ type: 'bitfield', bitfield: Buffer.from([0xff]) }));
  assert.equal(seed.peer.has.count, 8);
  for (const p of peers) ext.onReady(p);
  ext.onExtended(recipient.peer, 0, encodeExtendedHandshake({ m: { ut_pex: 5 } }));
  ext.onExtended(incoming.peer, 0, encodeExtendedHandshake({ m: {}, p: 7003 }));
  ext.onExtended(encrypting.peer, 0, encodeExtendedHandshake({ m: {}, e: 1 }));
  ext.tick();

  const pex = recipient.socket.messages().filter((m) => m.type === 'extended' && m.id === 5);
  assert.equal(pex.length, 1, 'one PEX message to the peer that speaks ut_pex');
  const msg = pex[0]!;
  assert.ok(msg.type === 'extended');
  const decoded = decodeUtPex(msg.payload);
  assert.equal(decoded.kind, 'ok');
  if (decoded.kind !== 'ok') return;
  const flags = Object.fromEntries(decoded.value.added.map((p) => [p.port, p.flags]));
  assert.deepEqual(flags, { 7001: 0x14, 7002: 0x12, 7003: 0x00, 7004: 0x14, 7005: 0x11 });

  // And the other way: the entries' flags reach whoever dials.
  ext.onExtended(recipient.peer, EXT_UT_PEX, encodeUtPex({ added: [{ host: '127.0.0.2', port: 9000, flags: 0x06 }, { host: '127.0.0.3', port: 9001, flags: 0 }], dropped: [] }));
  assert.deepEqual(learned, [
    { host: '127.0.0.2', port: 9000, flags: 0x06 },
    { host: '127.0.0.3', port: 9001, flags: 0 },
  ]);
});

test('our extended handshake says e=1 only when we require encryption', () => {
  const sent = (encryptionRequired: boolean | undefined) => {
    const c = connect(7100);
    const ext = new SessionExtensions({ torrent, listenPort: () => 6881, readyPeers: () => [c.peer], addPeers: () => undefined, encryptionRequired, now: () => 0 });
    ext.onReady(c.peer);
    const hs = c.socket.messages().find((m) => m.type === 'extended' && m.id === 0);
    assert.ok(hs && hs.type === 'extended');
    const d = decodeExtendedHandshake(hs.payload);
    assert.equal(d.kind, 'ok');
    return d.kind === 'ok' ? d.value.e : 'error';
  };
  assert.equal(sent(true), 1);
  assert.equal(sent(false), undefined);
  assert.equal(sent(undefined), undefined);
});
