import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_AFTER_FAILURES, GOOD_FOR_MS, K, REFRESH_AFTER_MS, RoutingTable } from '../../src/dht/routing.js';
import { commonPrefixLength, distance, randomIdWithPrefix } from '../../src/dht/id.js';
import { prng, randomBytes } from '../helpers/random.js';

const r = prng(1);
const rnd = (n: number) => randomBytes(r, n);
const own = Buffer.alloc(20, 0);
const MIN = 60_000;

function nodeAt(prefix: number, i: number) {
  return { id: randomIdWithPrefix(own, prefix, rnd), host: `10.0.${prefix}.${i}`, port: 1000 + i };
}

test('randomIdWithPrefix shares exactly the asked number of bits', () => {
  for (let p = 0; p < 160; p += 7) assert.equal(commonPrefixLength(own, randomIdWithPrefix(own, p, rnd)), p);
});

test('only the bucket holding our id splits; far buckets hold at most k', () => {
  const table = new RoutingTable(own, 0);
  // 20 nodes sharing no bit with us: one far bucket, k of them kept.
  for (let i = 0; i < 20; i++) table.heard(nodeAt(0, i), 'reply', 0, true);
  assert.equal(table.size, K);
  // Nodes closer to us split the near bucket and are all kept (different buckets).
  for (let p = 1; p < 30; p++) assert.equal(table.heard(nodeAt(p, 1), 'reply', 0, true).action, 'added');
  assert.equal(table.size, K + 29);
  assert.ok(table.bucketCount > 1);
});

test('states: good, questionable after 15 minutes, bad after failures; a bad node gives way', () => {
  const table = new RoutingTable(own, 0);
  const nodes = Array.from({ length: K }, (_, i) => nodeAt(0, i));
  for (const n of nodes) table.heard(n, 'reply', 0, true);
  const first = table.find(nodes[0]!.host, nodes[0]!.port)!;
  assert.equal(table.state(first, GOOD_FOR_MS - 1), 'good');
  assert.equal(table.state(first, GOOD_FOR_MS), 'questionable');
  // Bucket full of good nodes: a newcomer waits as a replacement.
  const newcomer = nodeAt(0, 50);
  assert.deepEqual(table.heard(newcomer, 'reply', MIN, true), { action: 'full', ping: [] });
  // Later the old nodes are questionable: they are what the node should ping.
  const full = table.heard(nodeAt(0, 51), 'reply', GOOD_FOR_MS + MIN, true);
  assert.equal(full.action, 'full');
  assert.equal(full.action === 'full' ? full.ping.length : 0, K);
  // The first one fails its pings: bad, replaced by the most recent replacement.
  for (let i = 0; i < BAD_AFTER_FAILURES; i++) table.failed(first.host, first.port, GOOD_FOR_MS + 2 * MIN);
  assert.equal(table.find(first.host, first.port), undefined);
  assert.ok(table.find('10.0.0.51', 1051));
  assert.equal(table.size, K);
});

test('a querier is verified before it enters; an id cannot move to another address', () => {
  const table = new RoutingTable(own, 0);
  const n = nodeAt(3, 1);
  assert.equal(table.heard(n, 'query', 0, true).action, 'verify');
  assert.equal(table.size, 0);
  assert.equal(table.heard(n, 'reply', 0, true).action, 'added');
  assert.equal(table.heard({ ...n, port: 9999 }, 'reply', 0, true).action, 'ignored');
  assert.equal(table.heard({ id: own, host: '1.1.1.1', port: 1 }, 'reply', 0, true).action, 'ignored');
  // The same address under a new id (a restarted node) replaces the old one once it answers.
  const renewed = { ...n, id: randomIdWithPrefix(own, 3, rnd) };
  assert.equal(table.heard(renewed, 'query', 0, true).action, 'ignored');
  assert.equal(table.heard(renewed, 'reply', 0, true).action, 'added');
  assert.equal(table.size, 1);
});

test('BEP 42 is a preference: a secure newcomer displaces an insecure questionable node, never a good one', () => {
  const table = new RoutingTable(own, 0);
  for (let i = 0; i < K; i++) table.heard(nodeAt(0, i), 'reply', 0, false);
  assert.equal(table.heard(nodeAt(0, 60), 'reply', MIN, true).action, 'full');
  assert.equal(table.heard(nodeAt(0, 61), 'reply', GOOD_FOR_MS + MIN, true).action, 'added');
  assert.equal(table.size, K);
});

test('closest() sorts by XOR distance and leaves bad nodes out', () => {
  const table = new RoutingTable(own, 0);
  const nodes = Array.from({ length: 40 }, (_, i) => ({ id: rnd(20), host: `10.1.0.${i}`, port: 1 }));
  for (const n of nodes) table.heard(n, 'reply', 0, true);
  const target = rnd(20);
  const got = table.closest(target, 8, 0);
  const d = got.map((c) => distance(c.id, target));
  for (let i = 1; i < d.length; i++) assert.ok(d[i - 1]! < d[i]!);
  const best = got[0]!;
  for (let i = 0; i < BAD_AFTER_FAILURES; i++) table.failed(best.host, best.port, 0);
  assert.ok(!table.closest(target, 8, 0).includes(best));
});

test('fake clock: stale buckets are refreshed once per period, with a target inside the bucket', () => {
  const table = new RoutingTable(own, 0);
  for (let p = 0; p < 6; p++) for (let i = 0; i < 3; i++) table.heard(nodeAt(p, i), 'reply', 0, true);
  assert.deepEqual(table.refreshTargets(REFRESH_AFTER_MS - 1, rnd), []);
  const targets = table.refreshTargets(REFRESH_AFTER_MS, rnd);
  assert.equal(targets.length, table.bucketCount);
  targets.forEach((t, i) => {
    const cpl = commonPrefixLength(own, t);
    if (i < table.bucketCount - 1) assert.equal(cpl, i);
    else assert.ok(cpl >= i);
  });
  assert.deepEqual(table.refreshTargets(REFRESH_AFTER_MS + 1, rnd), [], 'refreshed buckets are not asked again at once');
  // A node answering keeps its bucket fresh.
  table.heard(nodeAt(0, 0), 'reply', 2 * REFRESH_AFTER_MS, true);
  assert.equal(table.refreshTargets(2 * REFRESH_AFTER_MS, rnd).length, table.bucketCount - 1);
});
