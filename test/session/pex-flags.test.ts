// BEP 11 flags both ways, without sockets: what PexInbox keeps of a received `added.f`, what
// pexFlagsFor says of a connected peer, and that PexOutbox's entries reach the wire codec's
// `added.f` / `added6.f` bytes intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PexInbox, PexOutbox, PEX_INTERVAL_MS, pexFlagsFor } from '../../src/session/pex.js';
import { formatAddress } from '../../src/peer/address.js';
import { decodeUtPex, encodeUtPex, PexFlags, type PexPeer } from '../../src/wire/index.js';

const from = { host: '127.0.0.1', port: 7000 };

test('PexInbox keeps each peer\'s flags (0 when the sender gave none)', () => {
  const inbox = new PexInbox();
  const got = inbox.accept(from, [
    { host: '127.0.0.2', port: 6881, flags: PexFlags.utp | PexFlags.seed },
    { host: '127.0.0.3', port: 6882 },
    { host: '127.0.0.4', port: 6883, flags: 0x1ff }, // wider than a byte: only the byte
  ], 0);
  assert.deepEqual(got, [
    { host: '127.0.0.2', port: 6881, flags: 0x06 },
    { host: '127.0.0.3', port: 6882, flags: 0 },
    { host: '127.0.0.4', port: 6883, flags: 0xff },
  ]);
});

test('PexInbox: flags from a decoded message pass through with the address checks unchanged', () => {
  const payload = encodeUtPex({
    added: [
      { host: '127.0.0.5', port: 1000, flags: PexFlags.utp },
      { host: '0.0.0.0', port: 1001, flags: PexFlags.utp }, // unspecified: refused
      { host: '::1', port: 1002, flags: PexFlags.outgoing | PexFlags.utp },
    ],
    dropped: [],
  });
  const decoded = decodeUtPex(payload);
  assert.equal(decoded.kind, 'ok');
  if (decoded.kind !== 'ok') return;
  const got = new PexInbox().accept(from, decoded.value.added, 0);
  assert.deepEqual(got, [
    { host: '127.0.0.5', port: 1000, flags: 0x04 },
    { host: '::1', port: 1002, flags: 0x14 },
  ]);
  // A remote sender naming loopback addresses is still refused, flags or not.
  assert.deepEqual(new PexInbox().accept({ host: '10.0.0.1', port: 1 }, decoded.value.added, 0), []);
});

test('pexFlagsFor: 0x01 prefers encryption, 0x04 uTP, 0x02 seed, 0x10 reachable (we dialled it)', () => {
  const none = { utp: false, seed: false, dialled: false, prefersEncryption: false };
  assert.equal(pexFlagsFor(none), 0);
  assert.equal(pexFlagsFor({ ...none, utp: true }), 0x04);
  assert.equal(pexFlagsFor({ ...none, seed: true }), 0x02);
  assert.equal(pexFlagsFor({ ...none, dialled: true }), 0x10);
  assert.equal(pexFlagsFor({ ...none, prefersEncryption: true }), 0x01);
  assert.equal(pexFlagsFor({ utp: true, seed: true, dialled: true, prefersEncryption: true }), 0x17);
});

test('PexOutbox entries keep their flags through the codec, IPv4 and IPv6 alike', () => {
  const outbox = new PexOutbox();
  const peers: PexPeer[] = [
    { host: '127.0.0.2', port: 6881, flags: pexFlagsFor({ utp: true, seed: false, dialled: true, prefersEncryption: false }) },
    { host: '127.0.0.3', port: 6882, flags: pexFlagsFor({ utp: false, seed: true, dialled: false, prefersEncryption: true }) },
    { host: '::1', port: 6883, flags: pexFlagsFor({ utp: true, seed: true, dialled: false, prefersEncryption: false }) },
  ];
  const current = new Map(peers.map((p) => [formatAddress(p), p]));
  const msg = outbox.next(current, PEX_INTERVAL_MS);
  assert.ok(msg);
  const decoded = decodeUtPex(encodeUtPex(msg));
  assert.equal(decoded.kind, 'ok');
  if (decoded.kind !== 'ok') return;
  const flags = new Map(decoded.value.added.map((p) => [formatAddress(p), p.flags]));
  assert.deepEqual([...flags], [
    ['127.0.0.2:6881', 0x14],
    ['127.0.0.3:6882', 0x03],
    ['[::1]:6883', 0x06],
  ]);
});
