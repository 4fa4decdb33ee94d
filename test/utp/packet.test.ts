import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePacket,
  encodePacket,
  HEADER_LENGTH,
  looksLikeUtp,
  PacketType,
  sackedSeqs,
  selectiveAck,
  seqAdd,
  seqDistance,
  seqLess,
  type Packet,
} from '../../src/utp/index.js';
import { prng, randomBytes, randomInt } from '../helpers/random.js';

function packet(over: Partial<Packet> = {}): Packet {
  return {
    type: PacketType.DATA,
    connectionId: 0x1234,
    timestamp: 0xdeadbeef,
    timestampDiff: 0x01020304,
    windowSize: 1 << 20,
    seq: 0xfffe,
    ack: 7,
    extensions: [],
    payload: Buffer.from('hello'),
    ...over,
  };
}

test('header fields land where BEP 29 puts them', () => {
  const b = encodePacket(packet({ type: PacketType.STATE, payload: Buffer.alloc(0) }));
  assert.equal(b.toString('hex'), '2100' + '1234' + 'deadbeef' + '01020304' + '00100000' + 'fffe' + '0007');
  assert.equal(b[0], 0x21, 'ST_STATE << 4 | version 1');
});

test('round trip with a selective ack and an unknown extension', () => {
  const mask = Buffer.from([0b00000101, 0, 0, 0x80]);
  const p = packet({ extensions: [{ type: 1, data: mask }, { type: 2, data: Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]) }] });
  const bytes = encodePacket(p);
  assert.equal(bytes[1], 1, 'first extension type in the header');
  const r = decodePacket(bytes);
  assert.equal(r.kind, 'packet');
  if (r.kind !== 'packet') return;
  assert.equal(r.packet.seq, 0xfffe);
  assert.equal(r.packet.payload.toString(), 'hello');
  assert.deepEqual(selectiveAck(r.packet), mask);
  assert.deepEqual(encodePacket(r.packet), bytes);
  // bit 0 = ack+2, bit 2 = ack+4, bit 31 = ack+33
  assert.deepEqual(sackedSeqs(7, mask), [9, 11, 40]);
  assert.deepEqual(sackedSeqs(0xfffe, Buffer.from([1])), [0]);
});

test('garbage is an error value, never a throw', () => {
  const cases: [Buffer, string][] = [
    [Buffer.alloc(0), 'length'],
    [Buffer.alloc(19, 0x01), 'length'],
    [Buffer.from('d1:ad2:id20:' + 'x'.repeat(20) + 'e1:q4:ping1:t2:aa1:y1:qe'), 'version'],
    [Buffer.concat([Buffer.from([0x51]), Buffer.alloc(19)]), 'type'], // type 5
    [Buffer.concat([Buffer.from([0x02]), Buffer.alloc(19)]), 'version'],
    [Buffer.concat([Buffer.from([0x01, 0x01]), Buffer.alloc(18)]), 'extension'], // chain past the end
    [Buffer.concat([Buffer.from([0x01, 0x01]), Buffer.alloc(18), Buffer.from([0, 10, 1])]), 'extension'],
    [Buffer.concat([Buffer.from([0x01, 0x01]), Buffer.alloc(18), Buffer.from([0, 0])]), 'selective ack'],
    [Buffer.concat([Buffer.from([0x21, 0]), Buffer.alloc(18), Buffer.from('junk')]), 'payload'], // STATE with payload
  ];
  for (const [bytes, field] of cases) {
    const r = decodePacket(bytes);
    assert.equal(r.kind, 'error', bytes.toString('hex'));
    if (r.kind === 'error') {
      assert.equal(r.err.code, 'EUTP_BAD_PACKET');
      assert.equal(r.err.details.field, field, r.err.message);
    }
  }
  // A chain of many tiny extensions is bounded.
  const chain: number[] = [];
  for (let i = 0; i < 20; i++) chain.push(i < 19 ? 2 : 0, 0);
  const many = Buffer.concat([Buffer.from([0x01, 0x02]), Buffer.alloc(18), Buffer.from(chain)]);
  const r = decodePacket(many);
  assert.equal(r.kind, 'error');
});

test('KRPC and uTP first bytes are told apart', () => {
  assert.equal(looksLikeUtp('d'.charCodeAt(0)), false);
  for (const t of [0, 1, 2, 3, 4]) assert.equal(looksLikeUtp((t << 4) | 1), true);
  assert.equal(looksLikeUtp(0x51), false);
  assert.equal(looksLikeUtp(0x00), false);
});

test('sequence numbers wrap around', () => {
  assert.equal(seqAdd(0xffff, 1), 0);
  assert.equal(seqAdd(0, -1), 0xffff);
  assert.equal(seqDistance(0xfffe, 3), 5);
  assert.equal(seqLess(0xfffe, 3), true);
  assert.equal(seqLess(3, 0xfffe), false);
  assert.equal(seqLess(5, 5), false);
  assert.equal(seqLess(0, 0x7fff), true);
  assert.equal(seqLess(0, 0x8001), false);
});

test('fuzz: random and mutated datagrams never throw; what decodes re-encodes to the same bytes', () => {
  const r = prng(29);
  const seeds = [
    encodePacket(packet()),
    encodePacket(packet({ type: PacketType.STATE, payload: Buffer.alloc(0), extensions: [{ type: 1, data: Buffer.from([0xff, 0, 0, 1]) }] })),
    encodePacket(packet({ type: PacketType.SYN, payload: Buffer.alloc(0) })),
  ];
  let decoded = 0;
  for (let i = 0; i < 30_000; i++) {
    let bytes: Buffer;
    if (i % 3 === 0) {
      bytes = randomBytes(r, randomInt(r, 80));
      if (bytes.length > 0 && i % 2 === 0) bytes[0] = (randomInt(r, 5) << 4) | 1;
    } else {
      bytes = Buffer.from(seeds[i % seeds.length]!);
      const flips = 1 + randomInt(r, 4);
      for (let k = 0; k < flips; k++) bytes[randomInt(r, bytes.length)] = randomInt(r, 256);
      if (i % 7 === 0) bytes = bytes.subarray(0, randomInt(r, bytes.length + 1));
    }
    const res = decodePacket(bytes);
    if (res.kind === 'packet') {
      decoded++;
      assert.ok(res.packet.extensions.length <= 8);
      assert.deepEqual(encodePacket(res.packet), bytes, bytes.toString('hex'));
    } else {
      assert.equal(res.err.code, 'EUTP_BAD_PACKET');
    }
  }
  assert.ok(decoded > 1000, `only ${decoded} fuzz cases decoded: the mutations are too destructive to test the encoder`);
});

test('header length is 20', () => {
  assert.equal(HEADER_LENGTH, 20);
});
