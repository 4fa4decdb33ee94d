import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKrpc, encodeKrpc, MAX_DATAGRAM, type KrpcMessage } from '../../src/dht/krpc.js';
import { MAX_NODES, MAX_TOKEN, MAX_TRANSACTION_ID, MAX_VALUES } from '../../src/dht/krpc.js';
import { encodeCompactNodes, type NodeInfo } from '../../src/dht/compact.js';
import { encode } from '../../src/bencode/index.js';
import { prng, randomBytes, randomInt, type Random } from '../helpers/random.js';

const b = (s: string) => Buffer.from(s, 'latin1');

function ok(buf: Buffer): KrpcMessage {
  const r = decodeKrpc(buf);
  if (r.kind === 'error') assert.fail(r.err.message);
  return r.msg;
}

function bad(buf: Buffer, field?: string): void {
  const r = decodeKrpc(buf);
  assert.equal(r.kind, 'error', 'expected an error');
  if (r.kind === 'error' && field !== undefined) assert.equal(r.err.field, field);
}

// The examples of BEP 5, byte for byte: each decodes and re-encodes to the same bytes.
const BEP5_EXAMPLES = [
  'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
  'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re',
  'd1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe',
  'd1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe',
  'd1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re',
  'd1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe',
  'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
];

test('the BEP 5 examples decode and re-encode byte for byte', () => {
  for (const ex of BEP5_EXAMPLES) assert.equal(encodeKrpc(ok(b(ex))).toString('latin1'), ex);
});

test('BEP 5 examples decode to the expected values', () => {
  const ping = ok(b(BEP5_EXAMPLES[0]!));
  assert.equal(ping.y, 'q');
  if (ping.y === 'q') {
    assert.deepEqual(ping.query, { method: 'ping' });
    assert.equal(ping.id.toString(), 'abcdefghij0123456789');
    assert.equal(ping.t.toString(), 'aa');
    assert.equal(ping.readOnly, false);
  }
  const values = ok(b(BEP5_EXAMPLES[4]!));
  assert.equal(values.y, 'r');
  if (values.y === 'r') {
    assert.deepEqual(values.values, [
      { host: '97.120.106.101', port: 11893 },
      { host: '105.100.104.116', port: 28269 },
    ]);
    assert.equal(values.token?.toString(), 'aoeusnth');
  }
  const ann = ok(b(BEP5_EXAMPLES[5]!));
  assert.ok(ann.y === 'q' && ann.query.method === 'announce_peer' && ann.query.impliedPort && ann.query.port === 6881);
  const err = ok(b(BEP5_EXAMPLES[6]!));
  assert.ok(err.y === 'e' && err.code === 201 && err.message === 'A Generic Error Ocurred');
});

const id = (c: string) => Buffer.alloc(20, c);

test('nodes, nodes6 (BEP 32), want, ro (BEP 43) and ip (BEP 42) round-trip', () => {
  const nodes: NodeInfo[] = [{ id: id('a'), host: '1.2.3.4', port: 6881 }];
  const nodes6: NodeInfo[] = [{ id: id('b'), host: '2001:db8::1', port: 51413 }];
  const msgs: KrpcMessage[] = [
    { y: 'r', t: b('xy'), id: id('c'), ip: { host: '9.8.7.6', port: 1 }, nodes, nodes6, token: b('tok') },
    { y: 'r', t: b('xy'), id: id('c'), ip: { host: '::1', port: 2 }, values: [{ host: 'fe80::1', port: 3 }] },
    { y: 'q', t: b('q1'), v: b('LT20'), id: id('d'), query: { method: 'find_node', target: id('e') }, want: [4, 6], readOnly: true },
  ];
  for (const m of msgs) assert.deepEqual(ok(encodeKrpc(m)), m);
  // An unknown method decodes as such, so the node can answer 204.
  const unknown = ok(b('d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t1:x1:y1:qe'));
  assert.ok(unknown.y === 'q' && unknown.query.method === 'unknown' && unknown.query.name === 'vote');
  assert.deepEqual(ok(encodeKrpc(unknown)), unknown);
  // A compact node: 20-byte id, 4-byte address, big-endian port: 26 bytes.
  assert.equal(encodeCompactNodes(nodes, 4).toString('hex'), id('a').toString('hex') + '01020304' + '1ae1');
  assert.equal(encodeCompactNodes(nodes6, 6).length, 38);
});

test('malformed messages are errors naming the field, never throws', () => {
  bad(b('i1e'), '');
  bad(b('d1:t2:aae'), 'y');
  bad(b('d1:y1:qe'), 't');
  bad(b('d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe'), 'a.id');
  bad(b('d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe'), 'a.target');
  bad(b('d1:ad2:id20:abcdefghij01234567894:porti0e9:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe'), 'a.port');
  bad(b('d1:ad2:id20:abcdefghij01234567894:porti70000e9:info_hash20:mnopqrstuvwxyz1234565:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe'), 'a.port');
  bad(b('d1:rd2:id20:mnopqrstuvwxyz1234565:nodes3:abce1:t2:aa1:y1:re'), 'r.nodes');
  bad(b('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:xe'), 'y');
  bad(b('d1:el1:xe1:t2:aa1:y1:ee'), 'e');
  bad(b('d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:ree'), ''); // trailing byte
  bad(b('d1:rd2:id20:mnopqrstuvwxyz123456e1:ti1e1:y1:re'), 't');
});

test('bounds: datagram size, transaction id, token, node and value counts', () => {
  bad(Buffer.alloc(MAX_DATAGRAM + 1, 0x64));
  const tooLongT = encode({ t: Buffer.alloc(MAX_TRANSACTION_ID + 1), y: 'r', r: { id: id('a') } });
  bad(tooLongT, 't');
  const longToken = encode({ t: 'aa', y: 'r', r: { id: id('a'), token: Buffer.alloc(MAX_TOKEN + 1) } });
  bad(longToken, 'r.token');
  // 100 nodes in one reply: only MAX_NODES are kept.
  const many = Array.from({ length: 100 }, (_, i) => ({ id: Buffer.alloc(20, i), host: `10.0.0.${i + 1}`, port: 1000 + i }));
  const r = ok(encode({ t: 'aa', y: 'r', r: { id: id('a'), nodes: encodeCompactNodes(many, 4) } }));
  assert.ok(r.y === 'r' && r.nodes?.length === MAX_NODES);
  // 400 values (fits the datagram bound): only MAX_VALUES are kept; bad entries skipped.
  const values = Array.from({ length: 400 }, (_, i) => Buffer.from([10, 0, i >> 8, i & 0xff, 0x1a, 0xe1]));
  const v = ok(encode({ t: 'aa', y: 'r', r: { id: id('a'), values: [Buffer.from('junk'), ...values] } }));
  assert.ok(v.y === 'r' && v.values?.length === MAX_VALUES);
  // A dict nested deeper than any KRPC message is refused by the bencode decoder.
  bad(b('d1:ad2:idl' + 'l'.repeat(10) + 'e'.repeat(10) + 'ee1:q4:ping1:t2:aa1:y1:qe'));
});

function randomMessage(r: Random): KrpcMessage {
  const t = randomBytes(r, randomInt(r, MAX_TRANSACTION_ID + 1));
  const nid = randomBytes(r, 20);
  const v = r() < 0.5 ? { v: randomBytes(r, 4) } : {};
  const node = (): NodeInfo =>
    r() < 0.5
      ? { id: randomBytes(r, 20), host: `${randomInt(r, 256)}.${randomInt(r, 256)}.${randomInt(r, 256)}.${randomInt(r, 256)}`, port: 1 + randomInt(r, 65535) }
      : { id: randomBytes(r, 20), host: `2001:db8::${(1 + randomInt(r, 0xfffe)).toString(16)}`, port: 1 + randomInt(r, 65535) };
  const kind = randomInt(r, 7);
  if (kind === 0) return { y: 'e', t, ...v, code: 200 + randomInt(r, 5), message: randomBytes(r, randomInt(r, 40)).toString('latin1') };
  if (kind === 1) {
    const ns = Array.from({ length: randomInt(r, 9) }, node);
    return {
      y: 'r',
      t,
      ...v,
      id: nid,
      ...(r() < 0.5 ? { ip: { host: '5.6.7.8', port: 1 + randomInt(r, 65535) } } : {}),
      nodes: ns.filter((n) => !n.host.includes(':')),
      nodes6: ns.filter((n) => n.host.includes(':')),
      ...(r() < 0.5 ? { values: Array.from({ length: randomInt(r, 20) }, () => ({ host: '1.1.1.1', port: 1 + randomInt(r, 65535) })) } : {}),
      ...(r() < 0.5 ? { token: randomBytes(r, randomInt(r, MAX_TOKEN + 1)) } : {}),
    };
  }
  const queries = [
    { method: 'ping' as const },
    { method: 'find_node' as const, target: randomBytes(r, 20) },
    { method: 'get_peers' as const, infoHash: randomBytes(r, 20) },
    { method: 'announce_peer' as const, infoHash: randomBytes(r, 20), port: 1 + randomInt(r, 65535), token: randomBytes(r, 8), impliedPort: r() < 0.5 },
    { method: 'unknown' as const, name: 'sample_infohashes' },
  ];
  const want = r() < 0.3 ? { want: r() < 0.5 ? ([4] as const) : ([6, 4] as const) } : {};
  return { y: 'q', t, ...v, id: nid, query: queries[kind - 2]!, ...want, readOnly: r() < 0.2 };
}

test('fuzz: random messages round-trip; mutated bytes never throw and re-encode stably', () => {
  const r = prng(42);
  let decodedMutants = 0;
  for (let i = 0; i < 3000; i++) {
    const msg = randomMessage(r);
    const bytes = encodeKrpc(msg);
    assert.deepEqual(ok(bytes), msg);
    // Mutate: flip bytes, cut, or splice random bytes in.
    const m = Buffer.from(bytes);
    const op = randomInt(r, 3);
    let mutant: Buffer;
    if (op === 0) {
      for (let j = 0; j < 1 + randomInt(r, 4); j++) m[randomInt(r, m.length)] = randomInt(r, 256);
      mutant = m;
    } else if (op === 1) mutant = m.subarray(0, randomInt(r, m.length));
    else {
      const at = randomInt(r, m.length);
      mutant = Buffer.concat([m.subarray(0, at), randomBytes(r, 1 + randomInt(r, 8)), m.subarray(at)]);
    }
    const res = decodeKrpc(mutant); // must not throw
    if (res.kind === 'message') {
      decodedMutants++;
      const again = encodeKrpc(res.msg);
      assert.deepEqual(ok(again), res.msg);
      assert.ok(again.length <= MAX_DATAGRAM * 2);
      if (res.msg.y === 'r') {
        assert.ok((res.msg.nodes?.length ?? 0) <= MAX_NODES && (res.msg.values?.length ?? 0) <= MAX_VALUES);
      }
    }
  }
  assert.ok(decodedMutants > 100, `only ${decodedMutants} mutants decoded: the fuzzer is not reaching the decoder`);
  // Pure noise: never a throw.
  for (let i = 0; i < 3000; i++) decodeKrpc(randomBytes(r, randomInt(r, 300)));
});
