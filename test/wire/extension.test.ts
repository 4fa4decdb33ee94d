import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  formatIPv6,
  MAX_PEX_PEERS,
  metadataPieceCount,
  metadataPieceLength,
  parseIPv6,
  WireError,
  type ExtensionDecodeResult,
} from '../../src/wire/index.js';
import { hex } from './helpers.js';
import { Rng } from '../helpers/random.js';

function ok<T>(r: ExtensionDecodeResult<T>): T {
  if (r.kind === 'error') assert.fail(r.err.message);
  return r.value;
}

function err<T>(r: ExtensionDecodeResult<T>, field?: string): WireError {
  assert.equal(r.kind, 'error', 'expected an error');
  if (r.kind !== 'error') throw new Error('unreachable');
  assert.equal(r.err.code, 'EWIRE_BAD_EXTENSION');
  if (field !== undefined) assert.equal((r.err.details as { field: string }).field, field);
  return r.err;
}

// ----- BEP 10 extended handshake

test('extended handshake: BEP 10 example decodes', () => {
  const payload = Buffer.from('d1:md11:LT_metadatai1e6:ut_pexi2ee1:pi6881e1:v12:\xb5Torrent 1.2e', 'latin1');
  const h = ok(decodeExtendedHandshake(payload));
  assert.equal(h.m['LT_metadata'], 1);
  assert.equal(h.m['ut_pex'], 2);
  assert.equal(h.p, 6881);
  assert.equal(h.v, Buffer.from('\xb5Torrent 1.2', 'latin1').toString('utf8'));
});

test('extended handshake: encode is canonical bencode and round-trips', () => {
  const wire = encodeExtendedHandshake({ m: { ut_metadata: 1, ut_pex: 2 }, v: 'pytor 0.1', p: 6881, reqq: 500, metadata_size: 31235, yourip: hex('7f000001'), e: 1 });
  assert.equal(
    wire.toString('latin1'),
    'd1:ei1e1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e4:reqqi500e1:v9:pytor 0.16:yourip4:\x7f\x00\x00\x01e',
  );
  const back = ok(decodeExtendedHandshake(wire));
  assert.deepEqual({ ...back.m }, { ut_metadata: 1, ut_pex: 2 });
  assert.equal(back.metadata_size, 31235);
  assert.equal(back.reqq, 500);
  assert.deepEqual(back.yourip, hex('7f000001'));
  assert.equal(back.e, 1);
  assert.deepEqual(encodeExtendedHandshake(back), wire);
});

test('extended handshake: m ids outside 0..255 and bad metadata_size are errors', () => {
  err(decodeExtendedHandshake(Buffer.from('d1:md6:ut_pexi256eee')), 'm.ut_pex');
  err(decodeExtendedHandshake(Buffer.from('d1:md6:ut_pexi-1eee')), 'm.ut_pex');
  err(decodeExtendedHandshake(Buffer.from('d1:md6:ut_pex3:abcee')), 'm.ut_pex');
  err(decodeExtendedHandshake(Buffer.from('d1:mi1ee')), 'm');
  err(decodeExtendedHandshake(Buffer.from('d13:metadata_sizei8388609ee')), 'metadata_size');
  err(decodeExtendedHandshake(Buffer.from('d13:metadata_sizei0ee')), 'metadata_size');
  err(decodeExtendedHandshake(Buffer.from('d13:metadata_sizei-5ee')), 'metadata_size');
  assert.equal(ok(decodeExtendedHandshake(Buffer.from('d13:metadata_sizei8388608ee'))).metadata_size, 8 * 1024 * 1024);
  err(decodeExtendedHandshake(Buffer.from('li1ee')), '');
  err(decodeExtendedHandshake(Buffer.from('d1:m')), '');
});

test('extended handshake: id 0 (disabled) is kept; __proto__ is a plain key', () => {
  const h = ok(decodeExtendedHandshake(Buffer.from('d1:md9:__proto__i5e6:ut_pexi0eee')));
  assert.equal(h.m['ut_pex'], 0);
  assert.equal(h.m['__proto__'], 5);
  assert.equal(Object.getPrototypeOf(h.m), null);
  assert.equal(({} as Record<string, unknown>)['ut_pex'], undefined);
});

test('extended handshake: malformed informational fields are dropped, not fatal', () => {
  const long = 'x'.repeat(300);
  const h = ok(decodeExtendedHandshake(Buffer.from(`d1:ei2e1:md6:ut_pexi1ee1:pi0e4:reqqi-3e1:v300:${long}6:yourip3:abce`)));
  assert.equal(h.e, undefined);
  assert.deepEqual({ ...h.m }, { ut_pex: 1 });
  assert.equal(h.p, undefined);
  assert.equal(h.reqq, undefined);
  assert.equal(h.v, undefined);
  assert.equal(h.yourip, undefined);
});

test('extended handshake: size and entry bounds', () => {
  err(decodeExtendedHandshake(Buffer.alloc(64 * 1024 + 1)), '');
  const many = Array.from({ length: 256 }, (_, i) => `n${String(i).padStart(3, '0')}`).sort();
  const body = many.map((k) => `${k.length}:${k}i1e`).join('');
  err(decodeExtendedHandshake(Buffer.from(`d1:md${body}ee`)), 'm');
  assert.throws(() => encodeExtendedHandshake({ m: { x: 300 } }), WireError);
  assert.throws(() => encodeExtendedHandshake({ m: {}, metadata_size: 9e6 }), WireError);
});

// ----- BEP 9 ut_metadata

test('ut_metadata: BEP 9 vectors', () => {
  assert.deepEqual(ok(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei0ee'))), { type: 'request', piece: 0 });
  assert.deepEqual(ok(decodeUtMetadata(Buffer.from('d8:msg_typei2e5:piecei0ee'))), { type: 'reject', piece: 0 });
  const data = Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei5eehello');
  const decoded = ok(decodeUtMetadata(data));
  assert.equal(decoded.type, 'data');
  if (decoded.type !== 'data') return;
  assert.equal(decoded.totalSize, 5);
  assert.deepEqual(decoded.data, Buffer.from('hello'));
  assert.equal(decoded.data.buffer, data.buffer, 'data is a view of the payload');
  assert.deepEqual(encodeUtMetadata({ type: 'request', piece: 0 }), Buffer.from('d8:msg_typei0e5:piecei0ee'));
  assert.deepEqual(encodeUtMetadata({ type: 'data', piece: 0, totalSize: 5, data: Buffer.from('hello') }), data);
});

test('ut_metadata: unknown msg_type is ignorable, not an error (BEP 9)', () => {
  assert.deepEqual(ok(decodeUtMetadata(Buffer.from('d8:msg_typei7e5:piecei0ee'))), { type: 'unknown', msgType: 7 });
});

test('ut_metadata: piece and size checks', () => {
  const total = 40000; // 3 pieces: 16384, 16384, 7232
  assert.equal(metadataPieceCount(total), 3);
  assert.equal(metadataPieceLength(total, 2), 7232);
  const dataMsg = (piece: number, totalSize: number, n: number) =>
    Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei${piece}e10:total_sizei${totalSize}ee`), Buffer.alloc(n)]);
  assert.equal(ok(decodeUtMetadata(dataMsg(2, total, 7232))).type, 'data');
  assert.equal(ok(decodeUtMetadata(dataMsg(1, total, 16384), { metadataSize: total })).type, 'data');
  err(decodeUtMetadata(dataMsg(2, total, 7233)), 'data');
  err(decodeUtMetadata(dataMsg(1, total, 16383)), 'data');
  err(decodeUtMetadata(dataMsg(3, total, 0)), 'piece');
  err(decodeUtMetadata(dataMsg(0, 8 * 1024 * 1024 + 1, 16384)), 'total_size');
  err(decodeUtMetadata(dataMsg(0, total, 16384), { metadataSize: total + 1 }), 'total_size');
  err(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei3ee'), { metadataSize: total }), 'piece');
  err(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei-1ee')), 'piece');
  err(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei512ee')), 'piece');
  err(decodeUtMetadata(Buffer.from('d8:msg_typei0e5:piecei0eeXX')), '');
  err(decodeUtMetadata(Buffer.from('d5:piecei0ee')), 'msg_type');
  err(decodeUtMetadata(Buffer.from('i1e')), '');
  assert.throws(() => encodeUtMetadata({ type: 'data', piece: 0, totalSize: 5, data: Buffer.from('hell') }), WireError);
});

test('ut_metadata: random round-trip', () => {
  const rng = new Rng(21);
  for (let i = 0; i < 300; i++) {
    const totalSize = 1 + rng.int(8 * 1024 * 1024);
    const piece = rng.int(metadataPieceCount(totalSize));
    const kind = rng.pick(['request', 'reject', 'data'] as const);
    const msg =
      kind === 'data'
        ? { type: kind, piece, totalSize, data: rng.bytes(metadataPieceLength(totalSize, piece)) }
        : { type: kind, piece };
    assert.deepEqual(ok(decodeUtMetadata(encodeUtMetadata(msg), { metadataSize: totalSize })), msg);
  }
});

// ----- BEP 11 ut_pex

test('ut_pex: compact IPv4 and IPv6 lists with flags', () => {
  const payload = Buffer.concat([
    Buffer.from('d5:added12:'), hex('0a000001 1ae1 c0a80102 0050'),
    Buffer.from('7:added.f2:'), hex('0210'),
    Buffer.from('6:added618:'), hex('20010db8000000000000000000000001 1ae2'),
    Buffer.from('8:added6.f1:'), hex('01'),
    Buffer.from('7:dropped6:'), hex('01020304 0001'),
    Buffer.from('e'),
  ]);
  const pex = ok(decodeUtPex(payload));
  assert.deepEqual(pex, {
    added: [
      { host: '10.0.0.1', port: 6881, flags: 0x02 },
      { host: '192.168.1.2', port: 80, flags: 0x10 },
      { host: '2001:db8::1', port: 6882, flags: 0x01 },
    ],
    dropped: [{ host: '1.2.3.4', port: 1 }],
    skipped: 0,
  });
  const again = ok(decodeUtPex(encodeUtPex(pex)));
  assert.deepEqual(again, pex);
});

test('ut_pex: port 0 entries are refused; flags of the wrong length are ignored', () => {
  const payload = Buffer.concat([Buffer.from('d5:added12:'), hex('0a000001 0000 0a000002 0001'), Buffer.from('7:added.f1:'), hex('02'), Buffer.from('e')]);
  const pex = ok(decodeUtPex(payload));
  assert.deepEqual(pex.added, [{ host: '10.0.0.2', port: 1, flags: 0 }]);
  assert.equal(pex.skipped, 1);
  assert.throws(() => encodeUtPex({ added: [{ host: '1.2.3.4', port: 0, flags: 0 }], dropped: [] }), WireError);
  assert.throws(() => encodeUtPex({ added: [{ host: 'example.com', port: 1, flags: 0 }], dropped: [] }), WireError);
});

test('ut_pex: bad lengths, types and counts are errors', () => {
  err(decodeUtPex(Buffer.from('d5:added5:abcdee')), 'added');
  err(decodeUtPex(Buffer.from('d6:added617:aaaaaaaaaaaaaaaaae')), 'added6');
  err(decodeUtPex(Buffer.from('d7:droppedi1ee')), 'dropped');
  const tooMany = Buffer.alloc((MAX_PEX_PEERS + 1) * 6, 1);
  err(decodeUtPex(Buffer.concat([Buffer.from(`d5:added${tooMany.length}:`), tooMany, Buffer.from('e')])), 'added');
  const justRight = Buffer.alloc(MAX_PEX_PEERS * 6, 1);
  assert.equal(ok(decodeUtPex(Buffer.concat([Buffer.from(`d5:added${justRight.length}:`), justRight, Buffer.from('e')]))).added.length, MAX_PEX_PEERS);
  const peers = Array.from({ length: MAX_PEX_PEERS + 1 }, (_, i) => ({ host: `10.0.${i >> 8}.${i & 255}`, port: 1, flags: 0 }));
  assert.throws(() => encodeUtPex({ added: peers, dropped: [] }), WireError);
});

test('ut_pex: empty message encodes added and dropped as empty strings', () => {
  assert.equal(encodeUtPex({ added: [], dropped: [] }).toString(), 'd5:added0:7:added.f0:7:dropped0:e');
  assert.deepEqual(ok(decodeUtPex(Buffer.from('de'))), { added: [], dropped: [], skipped: 0 });
});

test('IPv6 text form: RFC 5952 formatting and parsing', () => {
  const cases: [string, string][] = [
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['fe800000000000000000ffff7f000001', 'fe80::ffff:7f00:1'],
  ];
  for (const [bytes, text] of cases) {
    assert.equal(formatIPv6(hex(bytes), 0), text);
    assert.deepEqual(parseIPv6(text), hex(bytes));
  }
  assert.deepEqual(parseIPv6('::ffff:1.2.3.4'), hex('00000000000000000000ffff01020304'));
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':::', 'g::1', '1.2.3.4::']) {
    assert.equal(parseIPv6(bad), null, bad);
  }
});
