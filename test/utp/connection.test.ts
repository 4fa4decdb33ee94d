import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Connection, decodePacket, encodePacket, PacketType, type Packet } from '../../src/utp/index.js';
import { prng, randomBytes } from '../helpers/random.js';
import { SimNet, pumpRead, pumpWrite } from './sim.js';

function sha1(bufs: Buffer[] | Buffer): string {
  const h = createHash('sha1');
  for (const b of Array.isArray(bufs) ? bufs : [bufs]) h.update(b);
  return h.digest('hex');
}

/** One-way transfer of `data` from a to b through the simulated network, then FIN both ways. */
function transfer(net: SimNet, data: Buffer, maxMs: number): Buffer[] {
  const got: Buffer[] = [];
  let off = 0;
  let aEnded = false;
  let bEof = false;
  let bEnded = false;
  net.run(
    () => net.aClosed !== null && net.bClosed !== null,
    maxMs,
    () => {
      if (net.aConnected) off = pumpWrite(net.a, data, off);
      if (!aEnded && off === data.length && net.aConnected) {
        aEnded = true;
        net.a.end();
      }
      if (!bEof && pumpRead(net.b, got)) bEof = true;
      if (bEof && !bEnded) {
        bEnded = true;
        net.b!.end();
      }
      pumpRead(net.a, []);
    },
  );
  return got;
}

test('connect, transfer 512 KiB and close on a clean link', () => {
  const net = new SimNet({ delayMs: 5 });
  const data = randomBytes(prng(1), 512 * 1024);
  const got = transfer(net, data, 60_000);
  assert.equal(sha1(got), sha1(data));
  assert.deepEqual(net.aClosed, { err: undefined });
  assert.deepEqual(net.bClosed, { err: undefined });
  assert.equal(net.a.stats().retransmits, 0);
});

test('4 MiB through 3% loss, 2% duplication and reordering jitter, with sequence numbers wrapping', () => {
  const net = new SimNet({ seed: 7, delayMs: 20, jitterMs: 15, loss: 0.03, dup: 0.02, seqA: 0xffff - 50, seqB: 0xffff - 5 });
  const data = randomBytes(prng(2), 4 * 1024 * 1024);
  const got = transfer(net, data, 600_000);
  assert.equal(sha1(got), sha1(data), `received ${got.reduce((n, b) => n + b.length, 0)} bytes`);
  assert.deepEqual(net.aClosed, { err: undefined });
  assert.deepEqual(net.bClosed, { err: undefined });
  const s = net.a.stats();
  assert.ok(s.retransmits > 0, 'losses were repaired by retransmission');
  // 4 MiB / 1200 B = 3496 packets: far more than 2^16 / 20, and the wrap happened early.
  assert.ok(s.packetsSent > 3496);
});

test('both directions at once through loss and reordering', () => {
  const net = new SimNet({ seed: 11, delayMs: 10, jitterMs: 10, loss: 0.02, dup: 0.01 });
  const ab = randomBytes(prng(3), 1024 * 1024);
  const ba = randomBytes(prng(4), 768 * 1024);
  const gotB: Buffer[] = [];
  const gotA: Buffer[] = [];
  let offA = 0;
  let offB = 0;
  const flags = { aEnd: false, bEnd: false, aEof: false, bEof: false };
  net.run(
    () => net.aClosed !== null && net.bClosed !== null,
    600_000,
    () => {
      if (net.aConnected) offA = pumpWrite(net.a, ab, offA);
      if (net.b && net.bConnected) offB = pumpWrite(net.b, ba, offB);
      if (!flags.aEnd && offA === ab.length) {
        flags.aEnd = true;
        net.a.end();
      }
      if (net.b && !flags.bEnd && offB === ba.length) {
        flags.bEnd = true;
        net.b.end();
      }
      if (pumpRead(net.b, gotB)) flags.bEof = true;
      if (pumpRead(net.a, gotA)) flags.aEof = true;
    },
  );
  assert.equal(sha1(gotB), sha1(ab));
  assert.equal(sha1(gotA), sha1(ba));
  assert.deepEqual(net.aClosed, { err: undefined });
  assert.deepEqual(net.bClosed, { err: undefined });
});

test('a lost SYN and a lost ST_STATE are retried', () => {
  const net = new SimNet({ delayMs: 5 });
  let synsDropped = 0;
  let statesDropped = 0;
  net.filter = (to, buf) => {
    const type = buf[0]! >> 4;
    if (to === 'b' && type === PacketType.SYN && synsDropped < 1) return ++synsDropped > 0;
    if (to === 'a' && type === PacketType.STATE && statesDropped < 1) return ++statesDropped > 0;
    return false;
  };
  const data = randomBytes(prng(5), 10_000);
  const got = transfer(net, data, 60_000);
  assert.equal(sha1(got), sha1(data));
  assert.equal(synsDropped, 1);
  assert.equal(statesDropped, 1);
});

test('an unanswered SYN times out after its retries', () => {
  const net = new SimNet({ delayMs: 5 });
  net.filter = () => true;
  net.run(() => net.aClosed !== null, 120_000);
  assert.equal(net.aClosed?.err?.code, 'EUTP_TIMEOUT');
  assert.equal(net.sent.a, 4, 'one SYN and three resends');
});

test('destroy with data in flight resets the other side', () => {
  const net = new SimNet({ delayMs: 5 });
  const data = randomBytes(prng(6), 200_000);
  let off = 0;
  net.run(() => net.bConnected && net.a.stats().inflightBytes > 0, 10_000, () => {
    if (net.aConnected) off = pumpWrite(net.a, data, off);
  });
  net.a.destroy();
  assert.equal(net.a.state, 'closed');
  net.run(() => net.bClosed !== null, 10_000, () => pumpRead(net.b, []));
  assert.equal(net.bClosed?.err?.code, 'EUTP_RESET');
});

test('a silent peer: data retransmissions back off and then time out', () => {
  const net = new SimNet({ delayMs: 5 });
  net.run(() => net.bConnected, 10_000, () => {
    if (net.aConnected && net.a.stats().sendQueueBytes === 0 && net.a.stats().inflightBytes === 0) net.a.write(Buffer.alloc(100));
  });
  net.filter = () => true; // the link dies
  net.a.write(Buffer.alloc(5000));
  const before = net.sent.a;
  net.run(() => net.aClosed !== null, 600_000);
  assert.equal(net.aClosed?.err?.code, 'EUTP_TIMEOUT');
  assert.ok(net.sent.a - before < 20, `${net.sent.a - before} packets to a dead peer`);
});

// ---- hostile peers, played by hand-made packets ---------------------------------------

/** A fake peer that answers our SYN, then lets the test send whatever it likes. */
class HandPeer {
  now = 0;
  readonly out: Packet[] = [];
  conn: Connection;
  closed: string | null = null;
  peerSeq = 5000;
  constructor(opts: { sendBuffer?: number; recvBuffer?: number } = {}) {
    this.conn = Connection.connect({
      recvId: 77,
      seq: 100,
      now: () => this.now,
      send: (d) => {
        const r = decodePacket(d);
        if (r.kind === 'packet') this.out.push(r.packet);
      },
      requestFlush: () => {},
      ...opts,
    });
    this.conn.events.onClose = (err) => (this.closed = err?.code ?? 'orderly');
    const syn = this.out.shift()!;
    this.conn.onPacket(this.packet(PacketType.STATE, { ack: syn.seq }));
    assert.equal(this.conn.state, 'connected');
  }
  packet(type: PacketType, over: Partial<Packet> = {}): Packet {
    return {
      type,
      connectionId: 78,
      timestamp: Math.floor(this.now * 1000) >>> 0,
      timestampDiff: 1000,
      windowSize: 1 << 20,
      seq: this.peerSeq,
      ack: 0,
      extensions: [],
      payload: Buffer.alloc(0),
      ...over,
    };
  }
  /** Advance the clock, ticking like the socket does. */
  advance(ms: number, step = 50): void {
    for (let t = 0; t < ms; t += step) {
      this.now += step;
      this.conn.tick();
      this.conn.flush();
    }
  }
}

test('hostile: a window of 0 forever keeps our buffers bounded and only probes', () => {
  const p = new HandPeer({ sendBuffer: 256 * 1024 });
  let written = 0;
  const chunk = Buffer.alloc(16 * 1024, 1);
  for (let round = 0; round < 2000; round++) {
    while (p.conn.writableNow) {
      p.conn.write(chunk);
      written += chunk.length;
    }
    p.conn.flush();
    // Ack everything it sent, but with a window of 0.
    for (const pkt of p.out.splice(0)) {
      if (pkt.type === PacketType.DATA) p.conn.onPacket(p.packet(PacketType.STATE, { ack: pkt.seq, windowSize: 0 }));
    }
    p.advance(500);
  }
  const s = p.conn.stats();
  assert.equal(p.closed, null, 'a peer that answers is not timed out');
  assert.ok(s.sendQueueBytes + s.inflightBytes <= 256 * 1024 + chunk.length, `buffered ${s.sendQueueBytes + s.inflightBytes}`);
  assert.ok(written <= 256 * 1024 + chunk.length + s.packetsSent * 1200, 'writes were held back');
  // 1000 s of simulated time: probes at the retransmission timeout, not a flood.
  assert.ok(s.packetsSent < 2500, `${s.packetsSent} packets`);
});

test('hostile: acks for packets never sent and wild selective acks change nothing', () => {
  const p = new HandPeer();
  p.conn.write(Buffer.alloc(12_000, 2));
  p.conn.flush();
  const sent = p.out.filter((x) => x.type === PacketType.DATA).length;
  assert.ok(sent >= 1);
  const before = p.conn.stats();
  const r = prng(9);
  for (let i = 0; i < 5000; i++) {
    const mask = randomBytes(r, 1 + Math.floor(r() * 32));
    p.conn.onPacket(p.packet(PacketType.STATE, { ack: (Math.floor(r() * 65536) & 0xffff) | (i % 2 ? 0 : 0x8000), extensions: [{ type: 1, data: mask }] }));
  }
  const after = p.conn.stats();
  assert.equal(p.closed, null);
  assert.ok(after.inflightBytes + after.sendQueueBytes <= before.inflightBytes + before.sendQueueBytes);
  // A correct ack still works afterwards.
  const last = p.out.filter((x) => x.type === PacketType.DATA).at(-1)!;
  p.conn.onPacket(p.packet(PacketType.STATE, { ack: last.seq }));
  p.conn.flush();
  assert.ok(p.conn.stats().inflightBytes < before.inflightBytes + before.sendQueueBytes);
});

test('hostile: data ignoring our window, in order and out of order, stays within the receive buffer', () => {
  const p = new HandPeer({ recvBuffer: 64 * 1024 });
  const payload = Buffer.alloc(1400, 3);
  // In order, never read by the application.
  for (let i = 0; i < 500; i++) p.conn.onPacket(p.packet(PacketType.DATA, { seq: p.peerSeq + i, payload }));
  let s = p.conn.stats();
  assert.ok(s.inboxBytes <= 64 * 1024, `inbox ${s.inboxBytes}`);
  assert.ok(s.inboxBytes > 60 * 1024, `in-order data was taken up to the bound (${s.inboxBytes})`);
  // Out of order, far ahead and everywhere.
  const r = prng(10);
  for (let i = 0; i < 5000; i++) {
    p.conn.onPacket(p.packet(PacketType.DATA, { seq: Math.floor(r() * 65536), payload: payload.subarray(0, 1 + Math.floor(r() * 1400)) }));
  }
  s = p.conn.stats();
  assert.ok(s.inboxBytes + s.reorderBytes <= 64 * 1024, `inbox ${s.inboxBytes} + reorder ${s.reorderBytes}`);
  assert.ok(s.reorderPackets <= 1024);
  // The window we advertise says so.
  p.conn.flush();
  const lastAck = p.out.filter((x) => x.type === PacketType.STATE).at(-1);
  assert.ok(lastAck && lastAck.windowSize <= 64 * 1024 - s.inboxBytes);
});

test('the receive window reopens when the application reads', () => {
  const p = new HandPeer({ recvBuffer: 16 * 1024 });
  const payload = Buffer.alloc(1000, 4);
  for (let i = 0; i < 16; i++) p.conn.onPacket(p.packet(PacketType.DATA, { seq: p.peerSeq + i, payload }));
  p.conn.flush();
  const closedAck = p.out.filter((x) => x.type === PacketType.STATE).at(-1)!;
  assert.ok(closedAck.windowSize < 1200, `window ${closedAck.windowSize}`);
  p.out.length = 0;
  let n = 0;
  while (p.conn.read()) n++;
  assert.equal(n, 16);
  p.conn.flush();
  const update = p.out.filter((x) => x.type === PacketType.STATE).at(-1);
  assert.ok(update && update.windowSize === 16 * 1024, 'a window update was sent');
});

test('an encoded packet from a connection is a valid packet', () => {
  const p = new HandPeer();
  p.conn.write(Buffer.from('abc'));
  p.conn.flush();
  const d = p.out.find((x) => x.type === PacketType.DATA)!;
  assert.equal(d.connectionId, 78, 'sends with recv id + 1');
  assert.equal(d.payload.toString(), 'abc');
  assert.equal(decodePacket(encodePacket(d)).kind, 'packet');
});

test('fuzz: a connected connection fed hostile packets never throws and stays bounded', () => {
  const r = prng(2929);
  for (let round = 0; round < 20; round++) {
    const p = new HandPeer({ recvBuffer: 128 * 1024, sendBuffer: 128 * 1024 });
    p.conn.write(Buffer.alloc(100_000, 5));
    p.conn.flush();
    const ourSeqs = p.out.filter((x) => x.type === PacketType.DATA).map((x) => x.seq);
    for (let i = 0; i < 2000 && p.conn.state !== 'closed'; i++) {
      const near = (base: number) => (base + Math.floor(r() * 64) - 32) & 0xffff;
      const type = [PacketType.DATA, PacketType.STATE, PacketType.FIN, PacketType.SYN, PacketType.RESET][Math.floor(r() * (r() < 0.01 ? 5 : 3))]!;
      const ext = r() < 0.3 ? [{ type: r() < 0.8 ? 1 : Math.floor(r() * 256), data: randomBytes(r, 1 + Math.floor(r() * 40)) }] : [];
      p.conn.onPacket(
        p.packet(type, {
          seq: r() < 0.8 ? near(p.peerSeq + i / 4) : Math.floor(r() * 65536),
          ack: r() < 0.7 ? near(ourSeqs[Math.floor(r() * ourSeqs.length)] ?? 100) : Math.floor(r() * 65536),
          windowSize: r() < 0.2 ? 0 : Math.floor(r() * 2 ** 32),
          timestampDiff: Math.floor(r() * 2 ** 32),
          extensions: ext,
          payload: type === PacketType.DATA ? Buffer.alloc(Math.floor(r() * 1500), 6) : Buffer.alloc(0),
        }),
      );
      if (r() < 0.3) p.conn.read();
      if (r() < 0.2) p.advance(100);
      else p.conn.flush();
      const s = p.conn.stats();
      assert.ok(s.inflightBytes >= 0 && s.sendQueueBytes >= 0);
      assert.ok(s.inboxBytes + s.reorderBytes <= 128 * 1024);
      assert.ok(s.reorderPackets <= 1024);
      assert.ok(s.inflightBytes + s.sendQueueBytes <= 128 * 1024, `${s.inflightBytes} + ${s.sendQueueBytes}`);
      assert.ok(s.cwnd >= 1 && Number.isFinite(s.cwnd));
      assert.ok(p.out.length < 100_000);
      p.out.length = 0;
    }
  }
});

test('fast retransmit: the third duplicate ack resends the next packet at once and halves the window', () => {
  const p = new HandPeer();
  p.conn.ledbat.cwnd = 20 * 1200;
  p.conn.write(Buffer.alloc(12 * 1200, 7));
  p.conn.flush();
  const data = p.out.filter((x) => x.type === PacketType.DATA);
  assert.ok(data.length >= 10, `${data.length} packets sent`);
  p.out.length = 0;
  const first = data[0]!.seq;
  p.conn.onPacket(p.packet(PacketType.STATE, { ack: first }));
  const cwnd = p.conn.ledbat.cwnd;
  for (let i = 0; i < 2; i++) p.conn.onPacket(p.packet(PacketType.STATE, { ack: first }));
  p.conn.flush();
  assert.equal(p.out.filter((x) => x.type === PacketType.DATA && x.seq === data[1]!.seq).length, 0, 'two duplicates are not enough');
  p.conn.onPacket(p.packet(PacketType.STATE, { ack: first }));
  p.conn.flush();
  assert.equal(p.out.filter((x) => x.type === PacketType.DATA && x.seq === data[1]!.seq).length, 1, 'resent after the third');
  assert.equal(p.conn.stats().losses, 1);
  assert.ok(p.conn.ledbat.cwnd <= cwnd / 2 + 1);
  assert.equal(p.conn.stats().timeouts, 0);
});

test('selective ack: packets acked past a gap are not resent, the gap is', () => {
  const p = new HandPeer();
  p.conn.ledbat.cwnd = 20 * 1200;
  p.conn.write(Buffer.alloc(8 * 1200, 8));
  p.conn.flush();
  const data = p.out.filter((x) => x.type === PacketType.DATA);
  p.out.length = 0;
  const s0 = data[0]!.seq;
  // Received: s0, then s0+2 .. s0+5 (bits 0..3 of the mask = ack+2 .. ack+5); s0+1 is missing.
  p.conn.onPacket(p.packet(PacketType.STATE, { ack: s0, extensions: [{ type: 1, data: Buffer.from([0b1111, 0, 0, 0]) }] }));
  p.conn.flush();
  const resent = p.out.filter((x) => x.type === PacketType.DATA).map((x) => x.seq);
  assert.deepEqual(resent.filter((s) => s !== data[6]?.seq && s !== data[7]?.seq), [(s0 + 1) & 0xffff]);
  assert.equal(p.conn.stats().inflightBytes, (1 + 2) * 1200, 'the gap and the two never acked');
});

test('a reader that stops for 90 s at a time closes the window but not the connection', () => {
  const net = new SimNet({ delayMs: 10, conn: { recvBuffer: 32 * 1024 } });
  const data = randomBytes(prng(12), 200 * 1024);
  const got: Buffer[] = [];
  let off = 0;
  let ended = false;
  let eof = false;
  net.run(
    () => net.aClosed !== null && net.bClosed !== null,
    1_500_000,
    () => {
      if (net.aConnected) off = pumpWrite(net.a, data, off);
      if (!ended && off === data.length) {
        ended = true;
        net.a.end();
      }
      // Reads for 100 ms out of every 90 s: longer than 7 backed-off timeouts.
      if (net.now % 90_000 < 100 && !eof && pumpRead(net.b, got)) {
        eof = true;
        net.b!.end();
      }
      pumpRead(net.a, []);
    },
  );
  assert.equal(sha1(got), sha1(data));
  assert.deepEqual(net.aClosed, { err: undefined });
  assert.ok(net.a.stats().timeouts > 0, 'the window did close and probes were needed');
});
