// DhtNodes on loopback sockets: a network of pytor nodes, a hostile node, the state file,
// IPv6. Every node is given loopback bootstrap addresses only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/node.js';
import { decodeKrpc, encodeKrpc, MAX_DATAGRAM, type KrpcMessage } from '../../src/dht/krpc.js';
import { loadState, saveState } from '../../src/dht/state.js';
import { randomIdWithPrefix } from '../../src/dht/id.js';
import { DhtError } from '../../src/dht/errors.js';
import { prng, randomBytes } from '../helpers/random.js';

const L = '127.0.0.1';
const FAST: Partial<DhtNodeOptions> = { rateLimits: { perSource: 10_000, perSourceBurst: 10_000 }, queryTimeoutMs: 500, tickMs: 0 };

async function network(count: number, extra: Partial<DhtNodeOptions> = {}): Promise<DhtNode[]> {
  const first = await DhtNode.start({ port: 0, host: L, bootstrap: [], ...FAST, ...extra });
  const nodes = [first];
  for (let i = 1; i < count; i++) nodes.push(await DhtNode.start({ port: 0, host: L, bootstrap: [{ host: L, port: first.port }], ...FAST, ...extra }));
  await Promise.all(nodes.map((n) => n.ready()));
  // A second round so that the first nodes learn of the later ones.
  await Promise.all(nodes.map((n) => n.getPeers(randomBytes(prng(count), 20))));
  return nodes;
}

test('a network of pytor nodes: announce_peer on one, get_peers on another finds it', async (t) => {
  const nodes = await network(12);
  t.after(() => Promise.all(nodes.map((n) => n.close())));
  const hash = Buffer.alloc(20, 0x5a);
  await nodes[3]!.getPeers(hash, { announcePort: 51413 });
  const seen: string[] = [];
  const peers = await nodes[9]!.getPeers(hash, { onPeers: (p) => seen.push(...p.map((x) => `${x.host}:${x.port}`)) });
  assert.deepEqual(peers, [{ host: L, port: 51413 }]);
  assert.deepEqual(seen, [`${L}:51413`]);
  for (const n of nodes) assert.ok(n.stats().goodNodes >= 5, JSON.stringify(n.stats()));
});

/** A misbehaving DHT node: a UDP socket that answers with whatever `answer` makes. */
async function hostile(host: string, answer: (q: KrpcMessage, from: dgram.RemoteInfo, sock: dgram.Socket) => void) {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, host, resolve));
  sock.on('message', (buf, from) => {
    const d = decodeKrpc(buf);
    if (d.kind === 'message' && d.msg.y === 'q') answer(d.msg, from, sock);
  });
  return sock;
}

function pingFrom(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('message', (buf) => {
      const d = decodeKrpc(buf);
      if (d.kind === 'message' && d.msg.y === 'r' && d.msg.t.toString() === 'pp') done(true);
    });
    sock.bind(0, host, () => sock.send(encodeKrpc({ y: 'q', t: Buffer.from('pp'), id: Buffer.alloc(20, 1), query: { method: 'ping' }, readOnly: false }), port, L));
  });
}

test('a hostile node (bogus nodes and values, wrong tids, other ports, huge datagrams, floods) does not stop pytor', async (t) => {
  const honest = await network(6);
  t.after(() => Promise.all(honest.map((n) => n.close())));
  const hash = Buffer.alloc(20, 0x77);
  await honest[2]!.getPeers(hash, { announcePort: 6000 });

  const r = prng(77);
  const other = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => other.bind(0, '127.0.0.3', resolve));
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
  let answered = 0;
  // The hostile node lives on 127.0.0.3, the honest ones on 127.0.0.1: per-source limits apply to it alone.
  const h = await hostile('127.0.0.3', (q, from, sock) => {
    answered++;
    const target = q.y === 'q' && q.query.method === 'get_peers' ? q.query.infoHash : Buffer.alloc(20, 0);
    // 32 "nodes" nearer the target than anyone, on ports nobody listens to.
    const nodes = Array.from({ length: 32 }, (_, i) => ({ id: randomIdWithPrefix(target, 120, (n) => randomBytes(r, n)), host: '127.0.0.4', port: 2000 + answered * 32 + i }));
    const values = Array.from({ length: 200 }, (_, i) => ({ host: '127.0.0.5', port: 1 + i }));
    const reply = (t2: Buffer) => encodeKrpc({ y: 'r', t: t2, id: randomBytes(r, 20), nodes, values, token: Buffer.from('x') });
    sock.send(reply(Buffer.from('no')), from.port, from.address); // wrong transaction id
    other.send(reply(q.t), from.port, from.address); // right tid, wrong port
    sock.send(Buffer.alloc(MAX_DATAGRAM + 100, 0x64), from.port, from.address); // oversized
    sock.send(Buffer.from('d1:rd2:id3:abce1:t2:' + q.t.toString('latin1') + '1:y1:re', 'latin1'), from.port, from.address); // malformed
    sock.send(reply(q.t), from.port, from.address); // and the real answer, full of lies
  });
  t.after(() => new Promise<void>((resolve) => h.close(() => resolve())));

  const p = await DhtNode.start({
    port: 0,
    host: L,
    bootstrap: [{ host: '127.0.0.3', port: h.address().port }, { host: L, port: honest[0]!.port }],
    queryTimeoutMs: 300,
    tickMs: 0,
    peerStoreLimits: { perHash: 20, total: 100 },
  });
  t.after(() => p.close());
  await p.ready();
  const peers = await p.getPeers(hash);
  assert.ok(peers.some((x) => x.host === L && x.port === 6000), `the honest peer was not found: ${peers.length} peers`);
  const s1 = p.stats();
  assert.ok(s1.unmatched > 0 && s1.malformed > 0, JSON.stringify(s1));
  assert.ok(peers.length <= 2000);
  assert.equal(s1.pendingQueries, 0);

  // Flood: 3000 queries (pings and announces with a valid token) from the hostile address.
  const tokenReply = await new Promise<Buffer>((resolve) => {
    h.once('message', (buf) => {
      const d = decodeKrpc(buf);
      if (d.kind === 'message' && d.msg.y === 'r' && d.msg.token) resolve(d.msg.token);
    });
    h.send(encodeKrpc({ y: 'q', t: Buffer.from('tk'), id: Buffer.alloc(20, 9), query: { method: 'get_peers', infoHash: hash }, readOnly: false }), p.port, L);
  });
  const before = p.stats();
  const floodStart = Date.now();
  for (let i = 0; i < 3000; i++) {
    const q: KrpcMessage =
      i % 2 === 0
        ? { y: 'q', t: Buffer.from([i >> 8, i & 255]), id: Buffer.alloc(20, 9), query: { method: 'ping' }, readOnly: true }
        : { y: 'q', t: Buffer.from([i >> 8, i & 255]), id: Buffer.alloc(20, 9), query: { method: 'announce_peer', infoHash: randomBytes(r, 20), port: i, token: tokenReply, impliedPort: false }, readOnly: true };
    h.send(encodeKrpc(q), p.port, L);
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  const s2 = p.stats();
  const seconds = (Date.now() - floodStart) / 1000;
  const received = s2.received - before.received;
  const answeredDuringFlood = s2.queriesAnswered - before.queriesAnswered;
  // Default limits: a burst of 50, then 20 per second for one source.
  // (the kernel may drop some of a burst this fast; enough arrive to exceed the limits many times)
  assert.ok(received > 300, `only ${received} flood datagrams arrived`);
  assert.ok(answeredDuringFlood <= 50 + 20 * seconds + 5, `answered ${answeredDuringFlood} of ${received} flood queries in ${seconds} s`);
  assert.ok(s2.rateLimited >= received - answeredDuringFlood - 10, JSON.stringify(s2));
  assert.ok(s2.storedPeers <= 100, `stored ${s2.storedPeers} peers`);
  // A valid ping from another address is still answered.
  assert.ok(await pingFrom('127.0.0.2', p.port), 'pytor did not answer a valid ping after the flood');
  assert.ok(p.stats().nodes <= 6 + 2 + 32, 'bogus nodes that never answered did not enter the table');
});

test('the state file: written atomically, read back, a damaged one is ignored', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-dht-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'dht.dat');
  const id = Buffer.alloc(20, 3);
  const nodes = [
    { id: Buffer.alloc(20, 4), host: '192.0.2.1', port: 6881 },
    { id: Buffer.alloc(20, 5), host: '2001:db8::2', port: 6882 },
  ];
  await saveState(file, { id, nodes });
  assert.deepEqual(await readdir(dir), ['dht.dat'], 'no temp file is left behind');
  assert.deepEqual(await loadState(file), { id, nodes });
  assert.equal(await loadState(path.join(dir, 'missing')), undefined);
  await writeFile(file, 'd2:id3:abce');
  assert.ok((await loadState(file)) instanceof DhtError);
  // A node started on a damaged file gets a fresh id and starts anyway; close() rewrites the file.
  const n = await DhtNode.start({ port: 0, host: L, bootstrap: [], stateFile: file, tickMs: 0 });
  assert.ok(!n.nodeId.equals(id));
  await n.close();
  const st = await loadState(file);
  assert.ok(st && !(st instanceof DhtError) && st.id.equals(n.nodeId));
});

test('IPv6 (BEP 32): nodes on ::1 find each other through nodes6', async (t) => {
  let first: DhtNode;
  try {
    first = await DhtNode.start({ port: 0, host: '::1', bootstrap: [], ...FAST });
  } catch {
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  const nodes = [first];
  t.after(() => Promise.all(nodes.map((n) => n.close())));
  for (let i = 0; i < 5; i++) nodes.push(await DhtNode.start({ port: 0, host: '::1', bootstrap: [{ host: '::1', port: first.port }], ...FAST }));
  await Promise.all(nodes.map((n) => n.ready()));
  const hash = Buffer.alloc(20, 0x66);
  await nodes[2]!.getPeers(hash, { announcePort: 7000 });
  assert.deepEqual(await nodes[5]!.getPeers(hash), [{ host: '::1', port: 7000 }]);
  assert.ok(nodes[5]!.stats().nodes6 >= 2);
});
