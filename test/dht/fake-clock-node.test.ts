// DhtNode with a fake clock and a fake transport (no sockets): serving get_peers and
// announce_peer, token rotation, peer expiry, bucket refresh and the announce schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { DhtNode, ANNOUNCE_MAX_MS, ANNOUNCE_MIN_MS, DEFAULT_BOOTSTRAP } from '../../src/dht/node.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage, type KrpcQuery } from '../../src/dht/krpc.js';
import { isBep42Valid } from '../../src/dht/bep42.js';
import { prng, randomBytes } from '../helpers/random.js';

const MIN = 60_000;
/** Lets the node's promise chains (lookups start after an await) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function fakeNode(seed: number) {
  let now = 1_000_000;
  const sent: { msg: KrpcMessage; port: number; host: string }[] = [];
  const r = prng(seed);
  const node = await DhtNode.start({
    port: 6881,
    bootstrap: [],
    now: () => now,
    random: (n) => randomBytes(r, n),
    tickMs: 0,
    families: [4],
    transport: {
      send(buf, port, host) {
        const d = decodeKrpc(buf);
        if (d.kind === 'error') throw d.err;
        sent.push({ msg: d.msg, port, host });
      },
    },
  });
  await node.ready();
  return {
    node,
    sent,
    advance: (ms: number) => (now += ms),
    /** Sends a query from host:port and returns the node's answer to it. */
    ask(host: string, port: number, query: KrpcQuery, id = Buffer.alloc(20, 7)): KrpcMessage | undefined {
      const t = randomBytes(r, 2);
      node.handleDatagram(encodeKrpc({ y: 'q', t, id, query, readOnly: false }), { address: host, port });
      return sent.find((s) => s.msg.t.equals(t) && s.host === host && s.port === port && s.msg.y !== 'q')?.msg;
    },
  };
}

const hash = Buffer.alloc(20, 0xab);

test('serving: get_peers gives a token, announce_peer with it stores the peer, expiring after 30 min', async () => {
  const f = await fakeNode(1);
  const first = f.ask('198.51.100.7', 6000, { method: 'get_peers', infoHash: hash });
  assert.ok(first?.y === 'r' && first.token && !first.values);
  assert.deepEqual(first.ip, { host: '198.51.100.7', port: 6000 }, 'BEP 42: the reply tells the asker its address');
  const ok = f.ask('198.51.100.7', 6000, { method: 'announce_peer', infoHash: hash, port: 51413, token: first.token, impliedPort: false });
  assert.equal(ok?.y, 'r');
  // implied_port: the UDP source port is the peer's port.
  const t2 = f.ask('198.51.100.8', 7000, { method: 'get_peers', infoHash: hash });
  assert.ok(t2?.y === 'r' && t2.token);
  f.ask('198.51.100.8', 7000, { method: 'announce_peer', infoHash: hash, port: 1, token: t2.token, impliedPort: true });
  const got = f.ask('203.0.113.1', 9, { method: 'get_peers', infoHash: hash });
  assert.ok(got?.y === 'r');
  assert.deepEqual(new Set(got.values?.map((p) => `${p.host}:${p.port}`)), new Set(['198.51.100.7:51413', '198.51.100.8:7000']));
  // A token from another IP is refused with a protocol error.
  const stolen = f.ask('203.0.113.2', 1, { method: 'announce_peer', infoHash: hash, port: 2, token: first.token, impliedPort: false });
  assert.ok(stolen?.y === 'e' && stolen.code === 203);
  f.advance(31 * MIN);
  f.node.tick();
  const later = f.ask('203.0.113.1', 9, { method: 'get_peers', infoHash: hash });
  assert.ok(later?.y === 'r' && !later.values, 'stored peers expire after 30 minutes');
  assert.equal(f.node.stats().storedPeers, 0);
  // Unknown methods get 204; a ping gets our id.
  assert.ok(f.ask('203.0.113.1', 9, { method: 'unknown', name: 'sample_infohashes' })?.y === 'e');
  const pong = f.ask('203.0.113.1', 9, { method: 'ping' });
  assert.ok(pong?.y === 'r' && pong.id.equals(f.node.nodeId));
  // From a shared dual-stack socket, IPv4 arrives IPv4-mapped: answered as plain IPv4.
  f.sent.length = 0;
  f.node.handleDatagram(encodeKrpc({ y: 'q', t: Buffer.from('m1'), id: Buffer.alloc(20, 7), query: { method: 'ping' }, readOnly: true }), { address: '::ffff:203.0.113.3', port: 9 });
  assert.deepEqual(f.sent.map((s) => [s.host, s.port, s.msg.y]), [['203.0.113.3', 9, 'r']]);
  await f.node.close();
});

test('fake clock: a token is accepted 5-10 minutes, refused after two rotations', async () => {
  const f = await fakeNode(2);
  const g = f.ask('198.51.100.7', 6000, { method: 'get_peers', infoHash: hash });
  assert.ok(g?.y === 'r' && g.token);
  f.advance(6 * MIN);
  assert.equal(f.ask('198.51.100.7', 6000, { method: 'announce_peer', infoHash: hash, port: 1, token: g.token, impliedPort: false })?.y, 'r');
  f.advance(5 * MIN);
  assert.equal(f.ask('198.51.100.7', 6000, { method: 'announce_peer', infoHash: hash, port: 1, token: g.token, impliedPort: false })?.y, 'e');
  await f.node.close();
});

test('a querier is pinged before it enters the table; read-only (BEP 43) askers are not', async () => {
  const f = await fakeNode(3);
  const id = Buffer.alloc(20, 0x42);
  const ro = randomBytes(prng(1), 2);
  f.node.handleDatagram(encodeKrpc({ y: 'q', t: ro, id, query: { method: 'ping' }, readOnly: true }), { address: '198.51.100.9', port: 1 });
  assert.equal(f.sent.filter((s) => s.msg.y === 'q').length, 0, 'a read-only node is not pinged');
  f.ask('198.51.100.9', 2, { method: 'ping' }, id);
  const ping = f.sent.find((s) => s.msg.y === 'q' && s.port === 2);
  assert.ok(ping && ping.msg.y === 'q' && ping.msg.query.method === 'ping');
  assert.equal(f.node.stats().nodes, 0);
  // A reply from another port, or with another tid, is not the answer.
  const reply = (t: Buffer, port: number) =>
    f.node.handleDatagram(encodeKrpc({ y: 'r', t, id, ip: { host: '192.0.2.1', port: 6881 } }), { address: '198.51.100.9', port });
  reply(ping.msg.t, 3);
  reply(Buffer.from('zz'), 2);
  assert.equal(f.node.stats().nodes, 0);
  assert.equal(f.node.stats().unmatched, 2);
  reply(ping.msg.t, 2);
  assert.equal(f.node.stats().nodes, 1);
  assert.equal(f.node.stats().goodNodes, 1);

  // Fake clock: 15 minutes without news, the bucket is refreshed with a find_node to it.
  f.sent.length = 0;
  f.advance(14 * MIN);
  f.node.tick();
  await flush();
  // (A table this small is also re-bootstrapped every minute: a find_node of our own id.)
  const refreshes = () => f.sent.filter((s) => s.msg.y === 'q' && s.msg.query.method === 'find_node' && !s.msg.query.target.equals(f.node.nodeId));
  assert.equal(refreshes().length, 0);
  f.advance(2 * MIN);
  f.node.tick();
  await flush();
  const refresh = refreshes();
  assert.equal(refresh.length, 1);
  assert.equal(refresh[0]!.port, 2);
  // ... and the now questionable node is pinged too.
  assert.ok(f.sent.some((s) => s.msg.y === 'q' && s.msg.query.method === 'ping' && s.port === 2));
  await f.node.close();
});

test('fake clock: a tracked torrent is looked up at once, then again 15-30 minutes later', async () => {
  const f = await fakeNode(4);
  const h = f.node.track(hash, 51413, () => undefined);
  await flush();
  assert.equal(f.node.stats().lookups, 2, 'the bootstrap lookup and the first get_peers');
  const [sched] = f.node.trackedSchedule();
  assert.ok(sched && !sched.running);
  const start = 1_000_000;
  assert.ok(sched.next >= start + ANNOUNCE_MIN_MS && sched.next <= start + ANNOUNCE_MAX_MS, `next run at +${(sched.next - start) / MIN} min`);
  f.advance(ANNOUNCE_MIN_MS - 1);
  f.node.tick();
  await flush();
  assert.equal(f.node.trackedSchedule()[0]!.next, sched.next, 'not run before it is due');
  f.advance(sched.next - (start + ANNOUNCE_MIN_MS - 1));
  f.node.tick();
  await flush();
  const again = f.node.trackedSchedule()[0]!;
  assert.ok(again.next >= sched.next + ANNOUNCE_MIN_MS && again.next <= sched.next + ANNOUNCE_MAX_MS, 'ran when due and was scheduled again');
  h.stop();
  assert.deepEqual(f.node.trackedSchedule(), []);
  await f.node.close();
});

test('BEP 42: three nodes agreeing on our external address give us an id derived from it', async () => {
  const f = await fakeNode(5);
  const before = f.node.nodeId;
  assert.ok(!isBep42Valid(before, '203.0.113.77'));
  const learnt: string[] = [];
  f.node.on('external-address', (ip: string) => learnt.push(ip));
  // Pings to three nodes (addNode: as from a peer's BEP 5 `port` message), each answering with `ip`.
  const voters = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
  voters.forEach((host, i) => {
    f.node.addNode({ host, port: 6881 });
    const ping = f.sent.find((s) => s.msg.y === 'q' && s.host === host);
    assert.ok(ping, `addNode did not ping ${host}`);
    f.node.handleDatagram(encodeKrpc({ y: 'r', t: ping.msg.t, id: Buffer.alloc(20, 0x10 + i), ip: { host: '203.0.113.77', port: 6881 } }), { address: host, port: 6881 });
    if (i < 2) assert.ok(f.node.nodeId.equals(before), 'changed before enough votes');
  });
  assert.ok(!f.node.nodeId.equals(before));
  assert.ok(isBep42Valid(f.node.nodeId, '203.0.113.77'));
  assert.equal(f.node.stats().externalAddress, '203.0.113.77');
  assert.deepEqual(learnt, ['203.0.113.77']);
  assert.equal(f.node.stats().nodes, 3, 'the table was rebuilt around the new id with its nodes');
  // A local address (a tracker on the LAN) never changes the id.
  const now = f.node.nodeId;
  f.node.setExternalAddress('192.168.1.5');
  assert.ok(f.node.nodeId.equals(now));
  await f.node.close();
});

test('the built-in routers are host names, never IP addresses', () => {
  assert.equal(DEFAULT_BOOTSTRAP.length, 4);
  for (const r of DEFAULT_BOOTSTRAP) assert.equal(isIP(r.host), 0, r.host);
});
