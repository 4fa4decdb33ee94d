// BEP 15 packets on bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUdpReply, encodeAnnounce, encodeConnect, encodeScrape, MAX_SCRAPE_HASHES } from '../../src/tracker/udp-codec.js';
import { encodeCompactPeers } from '../../src/tracker/compact.js';

test('connect request is the magic constant, action 0 and the transaction id', () => {
  assert.equal(encodeConnect(0x01020304).toString('hex'), '0000041727101980' + '00000000' + '01020304');
});

test('announce request puts each field at its BEP 15 offset', () => {
  const b = encodeAnnounce(0x1122334455667788n, 0xaabbccdd, {
    infoHash: Buffer.alloc(20, 0x11),
    peerId: Buffer.alloc(20, 0x22),
    port: 6881,
    uploaded: 3,
    downloaded: 1,
    left: 2 ** 40,
    event: 'stopped',
    key: 0xfeedface,
  });
  assert.equal(b.length, 98);
  assert.equal(b.readBigUInt64BE(0), 0x1122334455667788n);
  assert.equal(b.readUInt32BE(8), 1);
  assert.equal(b.readUInt32BE(12), 0xaabbccdd);
  assert.deepEqual(b.subarray(16, 36), Buffer.alloc(20, 0x11));
  assert.deepEqual(b.subarray(36, 56), Buffer.alloc(20, 0x22));
  assert.equal(b.readBigUInt64BE(56), 1n); // downloaded
  assert.equal(b.readBigUInt64BE(64), 2n ** 40n); // left
  assert.equal(b.readBigUInt64BE(72), 3n); // uploaded
  assert.equal(b.readUInt32BE(80), 3); // stopped
  assert.equal(b.readUInt32BE(84), 0); // IP: default
  assert.equal(b.readUInt32BE(88), 0xfeedface);
  assert.equal(b.readInt32BE(92), -1); // numwant: default
  assert.equal(b.readUInt16BE(96), 6881);
});

test('scrape request lists the hashes; more than 74 is refused', () => {
  const b = encodeScrape(7n, 9, [Buffer.alloc(20, 1), Buffer.alloc(20, 2)]);
  assert.equal(b.length, 56);
  assert.equal(b.readUInt32BE(8), 2);
  assert.deepEqual(b.subarray(36, 56), Buffer.alloc(20, 2));
  assert.throws(() => encodeScrape(7n, 9, Array.from({ length: MAX_SCRAPE_HASHES + 1 }, () => Buffer.alloc(20))), RangeError);
});

function header(action: number, tid: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(action, 0);
  h.writeUInt32BE(tid, 4);
  return Buffer.concat([h, rest]);
}

test('replies decode: connect, IPv4 and IPv6 announce, scrape, error', () => {
  const id = Buffer.alloc(8);
  id.writeBigUInt64BE(0xabcdefn);
  assert.deepEqual(decodeUdpReply(header(0, 5, id), false), { action: 'connect', transactionId: 5, connectionId: 0xabcdefn });

  const counters = Buffer.alloc(12);
  counters.writeUInt32BE(1800, 0);
  counters.writeUInt32BE(4, 4); // leechers
  counters.writeUInt32BE(2, 8); // seeders
  const v4 = encodeCompactPeers([{ host: '127.0.0.1', port: 1000 }], 4);
  assert.deepEqual(decodeUdpReply(header(1, 6, Buffer.concat([counters, v4])), false), {
    action: 'announce', transactionId: 6, interval: 1800, leechers: 4, seeders: 2, peers: [{ host: '127.0.0.1', port: 1000 }],
  });
  const v6 = encodeCompactPeers([{ host: '::1', port: 1001 }, { host: '2001:db8::7', port: 1002 }], 6);
  const r6 = decodeUdpReply(header(1, 6, Buffer.concat([counters, v6])), true);
  assert.ok(r6.action === 'announce');
  assert.deepEqual(r6.peers, [{ host: '::1', port: 1001 }, { host: '2001:db8::7', port: 1002 }]);

  const stats = Buffer.alloc(24);
  [3, 10, 4, 0, 0, 1].forEach((v, i) => stats.writeUInt32BE(v, i * 4));
  assert.deepEqual(decodeUdpReply(header(2, 7, stats), false), {
    action: 'scrape', transactionId: 7, stats: [{ complete: 3, downloaded: 10, incomplete: 4 }, { complete: 0, downloaded: 0, incomplete: 1 }],
  });
  // opentracker's refusal for a torrent off its whitelist: the 8-byte header alone.
  assert.deepEqual(decodeUdpReply(header(1, 9), false), { action: 'refused', transactionId: 9 });
  assert.deepEqual(decodeUdpReply(header(3, 8, Buffer.from('torrent not registered\0')), false), {
    action: 'error', transactionId: 8, message: 'torrent not registered',
  });
});

test('malformed replies decode as invalid, never throw', () => {
  const bad: [Buffer, boolean][] = [
    [Buffer.alloc(7), false],
    [header(0, 1, Buffer.alloc(7)), false],
    [header(1, 1, Buffer.alloc(11)), false],
    [header(1, 1, Buffer.alloc(12 + 7)), false],
    [header(1, 1, Buffer.alloc(12 + 6)), true], // 6-byte peers where 18 are due
    [header(2, 1, Buffer.alloc(13)), false],
    [header(9, 1), false],
  ];
  for (const [b, v6] of bad) assert.equal(decodeUdpReply(b, v6).action, 'invalid', b.toString('hex'));
  // Random bytes: only a decoded value or 'invalid', never an exception.
  let seed = 1;
  for (let i = 0; i < 2000; i++) {
    const len = (seed = (seed * 1103515245 + 12345) >>> 0) % 80;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    if (len >= 4) b.writeUInt32BE(seed % 5, 0);
    assert.doesNotThrow(() => decodeUdpReply(b, (seed & 1) === 1));
  }
});
