import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { encodePacket, PacketType, UtpSocket, type UtpStream } from '../../src/utp/index.js';
import { prng, randomBytes as seededBytes, randomInt } from '../helpers/random.js';

const HOST = '127.0.0.1';

async function pair(opts = {}): Promise<{ a: UtpSocket; b: UtpSocket; close: () => Promise<void> }> {
  const a = await UtpSocket.bind(0, HOST, opts);
  const b = await UtpSocket.bind(0, HOST, opts);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

function acceptOne(sock: UtpSocket): Promise<UtpStream> {
  return once(sock, 'connection').then(([s]) => s as UtpStream);
}

test('a stream over loopback: 4 MiB each way, end, close, and the face of a net.Socket', async () => {
  const { a, b, close } = await pair();
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    const server = await accepted;
    assert.equal(client.remoteAddress, HOST);
    assert.equal(client.remotePort, b.port);
    assert.equal(server.remotePort, a.port);
    assert.equal(client.setNoDelay(true), client);
    const up = randomBytes(4 * 1024 * 1024);
    const down = randomBytes(4 * 1024 * 1024);
    const collect = (s: UtpStream) => {
      const h = createHash('sha1');
      let n = 0;
      s.on('data', (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      return once(s, 'end').then(() => ({ n, sha: h.digest('hex') }));
    };
    const gotUp = collect(server);
    const gotDown = collect(client);
    const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
    client.end(up);
    server.end(down);
    const [u, d] = await Promise.all([gotUp, gotDown]);
    assert.equal(u.n, up.length);
    assert.equal(u.sha, createHash('sha1').update(up).digest('hex'));
    assert.equal(d.sha, createHash('sha1').update(down).digest('hex'));
    await closed;
    await delay(50);
    assert.equal(a.stats().connections, 0);
    assert.equal(b.stats().connections, 0);
  } finally {
    await close();
  }
});

test('backpressure: an unread stream holds the sender at its buffer bounds, then everything arrives', async () => {
  const { a, b, close } = await pair({ sendBuffer: 256 * 1024, recvBuffer: 256 * 1024 });
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    const server = await accepted;
    server.pause();
    const data = randomBytes(8 * 1024 * 1024);
    let off = 0;
    let blocked = false;
    while (off < data.length) {
      const ok = client.write(data.subarray(off, off + 64 * 1024));
      off += 64 * 1024;
      if (!ok) {
        const drained = await Promise.race([once(client, 'drain').then(() => true), delay(1000).then(() => false)]);
        if (!drained) {
          blocked = true;
          break;
        }
      }
    }
    assert.ok(blocked, 'the writer was held back while nobody read');
    assert.ok(off < data.length);
    const cs = client.connection.stats();
    const ss = server.connection.stats();
    assert.ok(cs.sendQueueBytes + cs.inflightBytes <= 256 * 1024 + 64 * 1024, `sender holds ${cs.sendQueueBytes + cs.inflightBytes}`);
    assert.ok(ss.inboxBytes + ss.reorderBytes <= 256 * 1024, `receiver holds ${ss.inboxBytes}`);
    assert.ok(server.readableLength <= 256 * 1024, `stream buffer ${server.readableLength}`);
    // Now read: the rest flows.
    const h = createHash('sha1');
    let n = 0;
    server.on('data', (c: Buffer) => {
      h.update(c);
      n += c.length;
    });
    server.resume();
    while (off < data.length) {
      const ok = client.write(data.subarray(off, off + 64 * 1024));
      off += 64 * 1024;
      if (!ok) await once(client, 'drain');
    }
    client.end();
    await once(server, 'end');
    assert.equal(n, data.length);
    assert.equal(h.digest('hex'), createHash('sha1').update(data).digest('hex'));
  } finally {
    await close();
  }
});

test('destroy() on one side closes the other', async () => {
  const { a, b, close } = await pair();
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    const server = await accepted;
    server.on('error', () => {});
    client.write(randomBytes(100_000));
    // Not events.once: it rejects on the 'error' (a reset) that precedes 'close'.
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    client.destroy();
    await closed;
    assert.equal(server.destroyed, true);
  } finally {
    await close();
  }
});

test('connect to a port where nobody answers times out', async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, HOST, () => r()));
  const a = await UtpSocket.bind(0, HOST);
  try {
    await assert.rejects(a.connect({ host: HOST, port: silent.address().port }, 300), { code: 'EUTP_TIMEOUT' });
    assert.equal(a.stats().connections, 0);
  } finally {
    await a.close();
    silent.close();
  }
});

test('KRPC datagrams go to the DHT handler and the DHT can send on the shared socket', async () => {
  const u = await UtpSocket.bind(0, HOST);
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, HOST, () => r()));
  try {
    const got = new Promise<{ buf: Buffer; port: number }>((resolve) => {
      u.onOtherDatagram = (buf, rinfo) => resolve({ buf, port: rinfo.port });
    });
    const ping = Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    peer.send(ping, u.port, HOST);
    const r = await got;
    assert.deepEqual(r.buf, ping);
    assert.equal(r.port, peer.address().port);
    const reply = once(peer, 'message');
    u.send(Buffer.from('d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re'), peer.address().port, HOST);
    const [msg] = (await reply) as [Buffer];
    assert.equal(msg[0], 0x64);
    assert.equal(u.stats().otherDatagrams, 1);
  } finally {
    peer.close();
    await u.close();
  }
});

test('garbage datagrams are dropped and a live connection is unaffected', async () => {
  const { a, b, close } = await pair();
  const junk = dgram.createSocket('udp4');
  await new Promise<void>((r) => junk.bind(0, HOST, () => r()));
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    const server = await accepted;
    const r = prng(42);
    for (let i = 0; i < 300; i++) {
      const buf = seededBytes(r, 1 + randomInt(r, 100));
      if (i % 2 === 0) buf[0] = (randomInt(r, 5) << 4) | 1; // looks like uTP
      if (buf[0] === 0x64) buf[0] = 0x65;
      junk.send(buf, b.port, HOST);
    }
    await delay(200);
    const st = b.stats();
    assert.ok(st.dropped > 100, JSON.stringify(st));
    const data = randomBytes(200_000);
    const got: Buffer[] = [];
    server.on('data', (c: Buffer) => got.push(c));
    client.end(data);
    await once(server, 'end');
    assert.ok(Buffer.concat(got).equals(data));
  } finally {
    junk.close();
    await close();
  }
});

test('a SYN flood holds at most maxHalfOpen entries and a real peer still connects', async () => {
  const target = await UtpSocket.bind(0, HOST, { maxHalfOpen: 16, halfOpenTimeoutMs: 2000 });
  const a = await UtpSocket.bind(0, HOST);
  try {
    let accepted = 0;
    target.on('connection', (s: UtpStream) => {
      accepted++;
      s.on('error', () => {});
    });
    const r = prng(5);
    // Spoofed sources on loopback: our ST_STATE answers go to ports where nobody listens.
    for (let i = 0; i < 20_000; i++) {
      const syn = encodePacket({
        type: PacketType.SYN,
        connectionId: randomInt(r, 65536),
        timestamp: 1,
        timestampDiff: 0,
        windowSize: 65536,
        seq: randomInt(r, 65536),
        ack: 0,
        extensions: [],
        payload: Buffer.alloc(0),
      });
      target.handleDatagram(syn, { address: HOST, port: 40000 + (i % 1000) });
      assert.ok(target.stats().connections <= 16);
    }
    assert.equal(target.stats().halfOpen, 16);
    assert.equal(accepted, 0, 'no flood entry became a connection');
    const got = new Promise<UtpStream>((resolve) => target.once('connection', resolve));
    const s = await a.connect({ host: HOST, port: target.port }, 5000);
    s.write(Buffer.from('hello'));
    const server = await got;
    const [chunk] = (await once(server, 'data')) as [Buffer];
    assert.equal(chunk.toString(), 'hello');
    s.destroy();
  } finally {
    await a.close();
    await target.close();
  }
});

test('close() ends every connection and leaves no handle behind', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout' || r === 'Immediate').length;
  const { a, b, close } = await pair();
  const accepted = acceptOne(b);
  const client = await a.connect({ host: HOST, port: b.port });
  const server = await accepted;
  client.on('error', () => {});
  server.on('error', () => {});
  client.write(randomBytes(50_000));
  const bPort = b.port;
  await close();
  await delay(20);
  assert.equal(client.destroyed, true);
  assert.equal(server.destroyed, true);
  await assert.rejects(a.connect({ host: HOST, port: bPort }), { code: 'EUTP_CLOSED' });
  const after = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout' || r === 'Immediate').length;
  assert.ok(after <= before, `handles before ${before}, after ${after}`);
});

test('a socket without a connection listener refuses incoming connections', async () => {
  const { a, b, close } = await pair();
  try {
    await assert.rejects(a.connect({ host: HOST, port: b.port }, 1500), { code: 'EUTP_TIMEOUT' });
    assert.equal(b.stats().connections, 0);
    assert.ok(b.stats().dropped >= 1);
  } finally {
    await close();
  }
});

test('closing a socket tells its peers at once', async () => {
  const { a, b, close } = await pair();
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    client.on('error', () => {});
    const server = await accepted;
    server.on('error', () => {});
    server.resume();
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    await a.close();
    const inTime = await Promise.race([closed.then(() => true), delay(2000).then(() => false)]);
    assert.ok(inTime, 'the peer saw the close within 2 s, not after a timeout');
  } finally {
    await close();
  }
});

test('destroy() with nothing in flight ends the peer gracefully, at once', async () => {
  const { a, b, close } = await pair();
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: HOST, port: b.port });
    const server = await accepted;
    let ended = false;
    let error: Error | null = null;
    server.on('end', () => (ended = true));
    server.on('error', (e: Error) => (error = e));
    server.resume();
    const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    client.destroy();
    const inTime = await Promise.race([closed.then(() => true), delay(2000).then(() => false)]);
    assert.ok(inTime, 'the peer closed within 2 s: its FIN was acked by the lingering entry');
    assert.equal(ended, true);
    assert.equal(error, null);
  } finally {
    await close();
  }
});

test('wrap(): uTP on a UDP socket the caller owns, which close() leaves open', async () => {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, HOST, () => r()));
  const u = UtpSocket.wrap(udp);
  const b = await UtpSocket.bind(0, HOST);
  try {
    const accepted = acceptOne(b);
    const s = await u.connect({ host: HOST, port: b.port });
    const server = await accepted;
    s.write(Buffer.from('over a wrapped socket'));
    const [chunk] = (await once(server, 'data')) as [Buffer];
    assert.equal(chunk.toString(), 'over a wrapped socket');
    server.on('error', () => {});
    await u.close();
    assert.equal(udp.address().port > 0, true, 'still bound');
    assert.equal(udp.listenerCount('message'), 0);
  } finally {
    udp.close();
    await b.close();
  }
});

test('impossible options are refused up front', async () => {
  await assert.rejects(UtpSocket.bind(0, HOST, { payloadSize: 70_000 }), { code: 'EUTP_INVALID_ARGUMENT' });
  await assert.rejects(UtpSocket.bind(0, HOST, { payloadSize: 1200, recvBuffer: 100 }), { code: 'EUTP_INVALID_ARGUMENT' });
});

test('IPv6 loopback', async (t) => {
  let a: UtpSocket;
  try {
    a = await UtpSocket.bind(0, '::1');
  } catch (err) {
    t.skip(`no ::1 here: ${(err as Error).message}`);
    return;
  }
  const b = await UtpSocket.bind(0, '::1');
  try {
    const accepted = acceptOne(b);
    const client = await a.connect({ host: '::1', port: b.port });
    const server = await accepted;
    assert.equal(client.remoteFamily, 'IPv6');
    assert.equal(server.remoteAddress, '::1');
    client.on('error', () => {});
    server.on('error', () => {});
    const data = randomBytes(300_000);
    const got: Buffer[] = [];
    server.on('data', (c: Buffer) => got.push(c));
    client.end(data);
    await once(server, 'end');
    assert.ok(Buffer.concat(got).equals(data));
  } finally {
    await a.close();
    await b.close();
  }
});
