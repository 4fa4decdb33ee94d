// BEP 9 / 10 / 11 session parts: the metadata assembler (pure), the PEX bookkeeping (pure),
// the session's extension layer against fake connections, and the metadata fetcher against
// hand-made hostile peers over loopback TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MetadataAssembler, MetadataFetcher } from '../../src/session/metadata.js';
import { MAX_PEX_ACCEPT_PER_MESSAGE, MAX_PEX_ADDED, PEX_INTERVAL_MS, PexInbox, PexOutbox } from '../../src/session/pex.js';
import { EXT_UT_METADATA, EXT_UT_PEX, OUR_REQQ, SessionExtensions } from '../../src/session/extensions.js';
import type { PeerConnection } from '../../src/peer/connection.js';
import { torrentFromInfo, type Torrent } from '../../src/metainfo/index.js';
import { encode } from '../../src/bencode/index.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  MAX_METADATA_SIZE,
  type Message,
} from '../../src/wire/index.js';
import { makeInfo, startFakePeer } from '../helpers/fake-metadata-peer.js';

const KiB = 1024;

function sha1(b: Buffer): Buffer {
  return createHash('sha1').update(b).digest();
}

// --- MetadataAssembler ---------------------------------------------------------------------

test('assembler: fetches pieces from one peer and verifies the info-hash', () => {
  const info = Buffer.alloc(40 * KiB + 5, 7);
  const a = new MetadataAssembler(sha1(info));
  assert.deepEqual(a.offer('p1', info.length), { kind: 'accepted' });
  assert.equal(a.pieceCount, 3);
  const asked = a.nextRequests('p1', 8, 0);
  assert.deepEqual(asked, [0, 1, 2]);
  assert.equal(a.data('p1', 0, info.length, info.subarray(0, 16 * KiB)).kind, 'stored');
  assert.equal(a.data('p1', 2, info.length, info.subarray(32 * KiB)).kind, 'stored');
  const r = a.data('p1', 1, info.length, info.subarray(16 * KiB, 32 * KiB));
  assert.equal(r.kind, 'complete');
  assert.ok(r.kind === 'complete' && r.info.equals(info));
});

test('assembler: refuses sizes above the bound, skips disagreeing peers, ignores unsolicited data', () => {
  const info = Buffer.alloc(20 * KiB, 1);
  const a = new MetadataAssembler(sha1(info));
  assert.equal(a.offer('huge', MAX_METADATA_SIZE + 1).kind, 'refused');
  assert.equal(a.offer('zero', 0).kind, 'refused');
  assert.equal(a.size, undefined, 'a refused offer sets nothing');
  assert.equal(a.offer('p1', info.length).kind, 'accepted');
  assert.deepEqual(a.offer('liar', info.length + 1), { kind: 'mismatch', size: info.length + 1, expected: info.length });
  // Not asked of anyone: ignored, even with the right bytes.
  assert.equal(a.data('p2', 0, info.length, info.subarray(0, 16 * KiB)).kind, 'ignored');
  assert.deepEqual(a.nextRequests('p1', 1, 0), [0]);
  // Asked of p1, answered by p2: ignored.
  assert.equal(a.data('p2', 0, info.length, info.subarray(0, 16 * KiB)).kind, 'ignored');
  // Wrong total size, out of range, wrong length: ignored.
  assert.equal(a.data('p1', 0, info.length + 1, info.subarray(0, 16 * KiB)).kind, 'ignored');
  assert.equal(a.data('p1', 5, info.length, info.subarray(0, 16 * KiB)).kind, 'ignored');
  assert.equal(a.data('p1', 0, info.length, info.subarray(0, 100)).kind, 'ignored');
  assert.equal(a.piecesHave, 0);
});

test('assembler: a bad hash discards everything, names the contributors, and lets a new size in', () => {
  const info = Buffer.alloc(20 * KiB, 2);
  const a = new MetadataAssembler(sha1(info));
  a.offer('bad1', info.length);
  assert.deepEqual(a.nextRequests('bad1', 1, 0), [0]);
  assert.deepEqual(a.nextRequests('bad2', 1, 0), [1]);
  assert.equal(a.data('bad1', 0, info.length, Buffer.alloc(16 * KiB, 9)).kind, 'stored');
  const r = a.data('bad2', 1, info.length, Buffer.alloc(4 * KiB, 9));
  assert.equal(r.kind, 'bad-hash');
  assert.deepEqual(r.kind === 'bad-hash' ? [...r.contributors].sort() : [], ['bad1', 'bad2']);
  assert.equal(a.size, undefined);
  assert.equal(a.offer('other', 999).kind, 'accepted');
});

test('assembler: rejects and timeouts send a piece to another peer', () => {
  const info = Buffer.alloc(10 * KiB, 3);
  const a = new MetadataAssembler(sha1(info));
  a.offer('p1', info.length);
  assert.deepEqual(a.nextRequests('p1', 4, 0), [0]);
  assert.deepEqual(a.nextRequests('p2', 4, 0), [], 'in flight to p1');
  a.reject('p1', 0);
  assert.deepEqual(a.nextRequests('p1', 4, 0), [], 'p1 said it does not have it');
  assert.deepEqual(a.nextRequests('p2', 4, 0), [0]);
  a.expire(20_000, 10_000);
  assert.deepEqual(a.nextRequests('p3', 4, 20_000), [0]);
  a.forget('p3');
  assert.equal(a.outstanding('p3'), 0);
});

// --- PEX bookkeeping -------------------------------------------------------------------------

test('pex outbox: added then dropped, at most once a minute, bounded', () => {
  const out = new PexOutbox();
  const current = new Map<string, { host: string; port: number; flags: number }>();
  for (let i = 0; i < 80; i++) current.set(`10.0.0.${i}:6881`, { host: `10.0.0.${i}`, port: 6881, flags: 0 });
  const first = out.next(current, 0);
  assert.equal(first?.added.length, MAX_PEX_ADDED);
  assert.equal(first?.dropped.length, 0);
  assert.equal(out.next(current, PEX_INTERVAL_MS - 1), undefined, 'too soon');
  const second = out.next(current, PEX_INTERVAL_MS);
  assert.equal(second?.added.length, 30, 'the rest');
  current.delete('10.0.0.0:6881');
  const third = out.next(current, 2 * PEX_INTERVAL_MS);
  assert.deepEqual(third, { added: [], dropped: [{ host: '10.0.0.0', port: 6881 }] });
  assert.equal(out.next(current, 4 * PEX_INTERVAL_MS), undefined, 'nothing changed: nothing sent');
  // What the outbox makes, the codec encodes (IPv4 and IPv6 lists).
  current.set('[2001:db8::1]:7000', { host: '2001:db8::1', port: 7000, flags: 2 });
  const fourth = out.next(current, 5 * PEX_INTERVAL_MS)!;
  const decoded = decodeUtPex(encodeUtPex(fourth));
  assert.ok(decoded.kind === 'ok');
  assert.deepEqual(decoded.value.added, [{ host: '2001:db8::1', port: 7000, flags: 2 }]);
});

test('pex inbox: bounds per message and in all, ignores floods and remote loopback claims', () => {
  const inbox = new PexInbox();
  const remote = { host: '203.0.113.5', port: 6881 };
  const many = Array.from({ length: 200 }, (_, i) => ({ host: `198.51.100.${i % 250}`, port: 1000 + i }));
  assert.equal(inbox.accept(remote, many, 0).length, MAX_PEX_ACCEPT_PER_MESSAGE);
  assert.deepEqual(inbox.accept(remote, many, 1000), [], 'a second message within seconds is a flood');
  const mixed = [
    { host: '127.0.0.1', port: 5000 },
    { host: '0.0.0.0', port: 5000 },
    { host: 'example.com', port: 5000 },
    { host: '192.0.2.9', port: 5000 },
  ];
  assert.deepEqual(inbox.accept(remote, mixed, 100_000), [{ host: '192.0.2.9', port: 5000, flags: 0 }]);
  // A peer on loopback may name loopback peers (the test swarms do).
  assert.deepEqual(inbox.accept({ host: '127.0.0.1', port: 1 }, [{ host: '127.0.0.1', port: 5000 }], 0), [{ host: '127.0.0.1', port: 5000, flags: 0 }]);
  // The session-wide budget runs out.
  let total = 0;
  for (let i = 0; i < 40; i++) total += inbox.accept({ host: `192.0.2.${i}`, port: 1 }, many, 0).length;
  assert.ok(total <= 500, `${total} learned`);
});

// --- SessionExtensions against fake connections ----------------------------------------------

interface FakeConn {
  peer: PeerConnection;
  sent: Message[];
  closed: string | undefined;
}

function fakeConn(host: string, port: number, opts: { incoming?: boolean; ext?: boolean } = {}): FakeConn {
  const reserved = Buffer.alloc(8);
  if (opts.ext !== false) reserved[5] = 0x10;
  const c: FakeConn = { sent: [], closed: undefined, peer: undefined as unknown as PeerConnection };
  const peer = {
    address: { host, port },
    label: `${host}:${port}`,
    remote: { infoHash: Buffer.alloc(20), peerId: Buffer.alloc(20), reserved },
    incoming: opts.incoming ?? false,
    transport: 'tcp',
    has: { pieceCount: 8, count: 0 },
    isReady: true,
    maxRequests: undefined as number | undefined,
    send: (msg: Message) => void c.sent.push(msg),
    close: (_code: string, detail: string) => void (c.closed = detail),
  };
  c.peer = peer as unknown as PeerConnection;
  return c;
}

function testTorrent(priv: boolean): Torrent {
  const pieces = Buffer.alloc(20 * 1000, 4);
  const dict: Record<string, number | string | Buffer> = { length: 1000 * 16384, name: 'ext.bin', 'piece length': 16384, pieces };
  if (priv) dict.private = 1;
  return torrentFromInfo(encode(dict), []);
}

function extendedSent(c: FakeConn): { id: number; payload: Buffer }[] {
  return c.sent.filter((m): m is Extract<Message, { type: 'extended' }> => m.type === 'extended').map((m) => ({ id: m.id, payload: m.payload }));
}

function setup(priv: boolean) {
  const torrent = testTorrent(priv);
  const peers: FakeConn[] = [];
  const added: { host: string; port: number }[][] = [];
  let now = 1_000_000;
  const ext = new SessionExtensions({
    torrent,
    listenPort: () => 7777,
    readyPeers: () => peers.map((p) => p.peer),
    addPeers: (a) => void added.push([...a]),
    now: () => now,
  });
  return { torrent, peers, added, ext, advance: (ms: number) => (now += ms) };
}

test('extensions: our handshake names ut_metadata, ut_pex, reqq, metadata_size, p; the peer\'s reqq is recorded', () => {
  const { torrent, peers, ext } = setup(false);
  const c = fakeConn('127.0.0.1', 6000);
  peers.push(c);
  ext.onReady(c.peer);
  const [hs] = extendedSent(c);
  assert.equal(hs?.id, 0);
  const d = decodeExtendedHandshake(hs!.payload);
  assert.ok(d.kind === 'ok');
  assert.equal(d.value.m.ut_metadata, EXT_UT_METADATA);
  assert.equal(d.value.m.ut_pex, EXT_UT_PEX);
  assert.equal(d.value.reqq, OUR_REQQ);
  assert.equal(d.value.metadata_size, torrent.infoBytes.length);
  assert.equal(d.value.p, 7777);
  assert.equal(d.value.v, 'pytor 0.1.0');
  ext.onExtended(c.peer, 0, encodeExtendedHandshake({ m: { ut_metadata: 9, ut_pex: 4 }, reqq: 123 }));
  assert.equal(c.peer.maxRequests, 123);
});

test('extensions: no extension bit, no extended handshake; extended messages then close the peer', () => {
  const { ext } = setup(false);
  const c = fakeConn('127.0.0.1', 6001, { ext: false });
  ext.onReady(c.peer);
  assert.equal(c.sent.length, 0);
  ext.onExtended(c.peer, 0, encodeExtendedHandshake({ m: {} }));
  assert.ok(c.closed);
});

test('extensions: private torrents (BEP 27) neither advertise nor accept ut_pex', () => {
  const { peers, added, ext, advance } = setup(true);
  const a = fakeConn('127.0.0.1', 6000);
  const b = fakeConn('127.0.0.1', 6002);
  peers.push(a, b);
  ext.onReady(a.peer);
  ext.onReady(b.peer);
  const d = decodeExtendedHandshake(extendedSent(a)[0]!.payload);
  assert.ok(d.kind === 'ok');
  assert.equal(d.value.m.ut_pex, undefined);
  assert.equal(d.value.m.ut_metadata, EXT_UT_METADATA);
  ext.onExtended(a.peer, 0, encodeExtendedHandshake({ m: { ut_pex: 4 } }));
  ext.onExtended(b.peer, 0, encodeExtendedHandshake({ m: { ut_pex: 4 } }));
  ext.onExtended(a.peer, EXT_UT_PEX, encodeUtPex({ added: [{ host: '127.0.0.1', port: 9999, flags: 0 }], dropped: [] }));
  advance(PEX_INTERVAL_MS);
  ext.tick();
  assert.deepEqual(added, []);
  assert.equal(extendedSent(a).length, 1, 'only the handshake');
});

test('extensions: PEX in and out on a public torrent', () => {
  const { peers, added, ext } = setup(false);
  const a = fakeConn('127.0.0.1', 6000);
  const b = fakeConn('127.0.0.1', 40123, { incoming: true });
  const c = fakeConn('127.0.0.1', 40124, { incoming: true });
  peers.push(a, b, c);
  for (const x of peers) ext.onReady(x.peer);
  ext.onExtended(a.peer, 0, encodeExtendedHandshake({ m: { ut_pex: 4 } }));
  ext.onExtended(b.peer, 0, encodeExtendedHandshake({ m: { ut_pex: 5 }, p: 7000 }));
  ext.onExtended(c.peer, 0, encodeExtendedHandshake({ m: {} })); // incoming, no `p`: not dialable
  ext.tick();
  const toA = extendedSent(a).filter((m) => m.id === 4);
  assert.equal(toA.length, 1);
  const decoded = decodeUtPex(toA[0]!.payload);
  assert.ok(decoded.kind === 'ok');
  // b by the port it listens on; c not at all (its port is ephemeral); a not to itself.
  assert.deepEqual(decoded.value.added.map((p) => `${p.host}:${p.port}`), ['127.0.0.1:7000']);
  ext.onExtended(a.peer, EXT_UT_PEX, encodeUtPex({ added: [{ host: '127.0.0.1', port: 9999, flags: 0 }], dropped: [] }));
  assert.deepEqual(added, [[{ host: '127.0.0.1', port: 9999, flags: 0 }]]);
  // Malformed PEX is ignored, not fatal.
  ext.onExtended(a.peer, EXT_UT_PEX, Buffer.from('not bencode'));
  assert.equal(a.closed, undefined);
});

test('extensions: serves metadata pieces, rejects pieces out of range and closes on garbage', () => {
  const { torrent, ext } = setup(false);
  const c = fakeConn('127.0.0.1', 6000);
  ext.onReady(c.peer);
  ext.onExtended(c.peer, 0, encodeExtendedHandshake({ m: { ut_metadata: 7 } }));
  ext.onExtended(c.peer, EXT_UT_METADATA, encodeUtMetadata({ type: 'request', piece: 1 }));
  ext.onExtended(c.peer, EXT_UT_METADATA, encodeUtMetadata({ type: 'request', piece: 50 }));
  const answers = extendedSent(c).filter((m) => m.id === 7).map((m) => decodeUtMetadata(m.payload));
  assert.equal(answers.length, 2);
  const [data, reject] = answers;
  assert.ok(data?.kind === 'ok' && data.value.type === 'data');
  assert.equal(data.value.totalSize, torrent.infoBytes.length);
  assert.ok(data.value.data.equals(torrent.infoBytes.subarray(16 * KiB, 32 * KiB)));
  assert.ok(reject?.kind === 'ok' && reject.value.type === 'reject' && reject.value.piece === 50);
  ext.onExtended(c.peer, EXT_UT_METADATA, Buffer.from('d8:msg_typei0e5:piecei-1ee'));
  assert.ok(c.closed, 'a malformed request closes the connection');
});

// --- MetadataFetcher against hand-made peers ---------------------------------------------------

function fetcherFor(infoHash: Buffer): MetadataFetcher {
  return new MetadataFetcher({ infoHash, peerId: Buffer.from('-PY0100-fetchertest0'), maxPeers: 10, encryption: 'off' });
}

test('fetcher: wrong hash, size above the bound and pieces out of range are refused; a good peer then wins', { timeout: 30_000 }, async (t) => {
  const { info, infoHash } = makeInfo();
  const bad = await startFakePeer({ info, infoHash, behaviour: 'wrong-hash' });
  const huge = await startFakePeer({ info, infoHash, behaviour: 'huge-size' });
  const range = await startFakePeer({ info, infoHash, behaviour: 'out-of-range' });
  const rejecter = await startFakePeer({ info, infoHash, behaviour: 'reject' });
  t.after(() => Promise.all([bad, huge, range, rejecter].map((p) => p.close())).then(() => undefined));
  const fetcher = fetcherFor(infoHash);
  t.after(() => fetcher.stop());
  const warnings: string[] = [];
  fetcher.on('warning', (w: string) => warnings.push(w));
  const local = (p: { port: number }) => ({ host: '127.0.0.1', port: p.port });
  fetcher.addPeers([local(bad), local(huge), local(range), local(rejecter)]);
  const state: { result: Buffer | undefined } = { result: undefined };
  const fetching = fetcher.fetch().then((b) => (state.result = b));

  // Every hostile peer gets its turn and is dropped; nothing resolves.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (bad.closedByRemote() < 1 || huge.closedByRemote() < 1 || range.closedByRemote() < 1)) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(bad.closedByRemote() >= 1, 'wrong-hash peer not dropped');
  assert.ok(huge.closedByRemote() >= 1, 'huge-size peer not dropped');
  assert.ok(range.closedByRemote() >= 1, 'out-of-range peer not dropped');
  assert.equal(huge.requests(), 0, 'nothing is asked of a peer announcing more than 8 MiB');
  assert.ok(warnings.some((w) => /does not match the info-hash/.test(w)), warnings.join('\n'));
  assert.equal(state.result, undefined);
  assert.ok(!fetcher.knownPeers().some((p) => p.port === bad.port), 'the wrong-hash peer is banned');

  const good = await startFakePeer({ info, infoHash, behaviour: 'good' });
  t.after(() => good.close());
  fetcher.addPeers([local(good)]);
  const got = await fetching;
  assert.ok(got.equals(info));
  assert.equal(bad.connections(), 1, 'a banned peer is not dialled again');
});
