// The iterative lookup against a simulated network in memory (no sockets): it must converge
// on the true k closest nodes, find the peers stored there, and survive nodes that lie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLookup, MAX_QUERIES, type LookupStart } from '../../src/dht/lookup.js';
import { distance, randomIdWithPrefix, commonPrefixLength } from '../../src/dht/id.js';
import type { NodeInfo } from '../../src/dht/compact.js';
import type { KrpcReplyMessage } from '../../src/dht/krpc.js';
import { prng, randomBytes, randomInt } from '../helpers/random.js';

interface SimNode extends NodeInfo {
  knows: NodeInfo[];
}

function closestTo(target: Buffer, nodes: readonly NodeInfo[], n: number): NodeInfo[] {
  return [...nodes].sort((a, b) => (distance(a.id, target) < distance(b.id, target) ? -1 : 1)).slice(0, n);
}

function simNetwork(seed: number, size: number): SimNode[] {
  const r = prng(seed);
  const nodes: SimNode[] = Array.from({ length: size }, (_, i) => ({
    id: randomBytes(r, 20),
    host: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    port: 6881,
    knows: [],
  }));
  // Each node knows its 16 nearest and 16 random others: enough for Kademlia to route.
  for (const n of nodes) n.knows = [...closestTo(n.id, nodes, 17).slice(1), ...Array.from({ length: 16 }, () => nodes[randomInt(r, size)]!)];
  return nodes;
}

function reply(node: NodeInfo, extra: Partial<KrpcReplyMessage>): KrpcReplyMessage {
  return { y: 'r', t: Buffer.from('aa'), id: node.id, ...extra };
}

test('lookup converges on the k closest nodes and collects the peers stored there', async () => {
  const r = prng(5);
  const nodes = simNetwork(11, 600);
  const byAddr = new Map(nodes.map((n) => [`${n.host}|${n.port}`, n]));
  const target = randomBytes(r, 20);
  const truth = closestTo(target, nodes, 8);
  const holders = new Set(truth.slice(0, 3).map((n) => n.host));
  const start: LookupStart[] = Array.from({ length: 3 }, () => nodes[randomInt(r, nodes.length)]!);
  const reported: string[] = [];
  let maxInFlight = 0;
  let inFlight = 0;
  const res = await runLookup({
    target,
    ownId: randomBytes(r, 20),
    start,
    k: 8,
    nodesOf: (m) => m.nodes ?? [],
    onPeers: (p) => reported.push(...p.map((x) => `${x.host}:${x.port}`)),
    query: async (n) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      const node = byAddr.get(`${n.host}|${n.port}`)!;
      return reply(node, {
        token: Buffer.from(node.host),
        nodes: closestTo(target, node.knows, 8),
        ...(holders.has(node.host) ? { values: [{ host: '192.0.2.1', port: 51413 }] } : {}),
      });
    },
  });
  assert.deepEqual(
    res.closest.map((a) => a.node.id.toString('hex')),
    truth.map((n) => n.id.toString('hex')),
  );
  assert.ok(res.closest.every((a) => a.token?.equals(Buffer.from(a.node.host))), 'tokens are kept for announce_peer');
  assert.deepEqual(res.peers, [{ host: '192.0.2.1', port: 51413 }]);
  assert.deepEqual(reported, ['192.0.2.1:51413'], 'each peer reported once, as it arrived');
  assert.ok(maxInFlight <= 3, `alpha is 3, saw ${maxInFlight} in flight`);
  assert.ok(res.queries < 80, `${res.queries} queries for 600 nodes`);
});

test('a liar flooding the lookup with bogus near nodes does not stop it', async () => {
  const r = prng(6);
  const nodes = simNetwork(12, 300);
  const byAddr = new Map(nodes.map((n) => [`${n.host}|${n.port}`, n]));
  const target = randomBytes(r, 20);
  const truth = closestTo(target, nodes, 8);
  const liar = nodes[0]!;
  let bogusAsked = 0;
  const res = await runLookup({
    target,
    ownId: randomBytes(r, 20),
    start: [liar, nodes[1]!, nodes[2]!],
    k: 8,
    nodesOf: (m) => m.nodes ?? [],
    query: async (n) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (n.host.startsWith('203.')) {
        bogusAsked++;
        return undefined; // nobody there
      }
      const node = byAddr.get(`${n.host}|${n.port}`)!;
      if (node === liar) {
        // Fresh nodes nearer than anything real, on every query (as many as the codec keeps).
        const bogus = Array.from({ length: 32 }, (_, i) => ({
          id: randomIdWithPrefix(target, 100 + randomInt(r, 50), (x) => randomBytes(r, x)),
          host: `203.0.${randomInt(r, 256)}.${i}`,
          port: 1 + randomInt(r, 65535),
        }));
        return reply(node, { nodes: bogus });
      }
      return reply(node, { nodes: closestTo(target, node.knows, 8) });
    },
  });
  assert.ok(res.queries <= MAX_QUERIES);
  assert.ok(bogusAsked > 0 && bogusAsked <= 32, `asked ${bogusAsked} bogus nodes`);
  assert.ok(res.closest.every((a) => !a.node.host.startsWith('203.')));
  const found = new Set(res.closest.map((a) => a.node.id.toString('hex')));
  const hits = truth.filter((n) => found.has(n.id.toString('hex'))).length;
  assert.ok(hits >= 6, `only ${hits} of the true 8 closest found`);
  assert.ok(commonPrefixLength(res.closest[0]!.node.id, target) >= commonPrefixLength(truth[0]!.id, target));
});

test('a node answering under another id than the one it was listed with is not trusted', async () => {
  const r = prng(8);
  const a = { id: randomBytes(r, 20), host: '10.0.0.1', port: 1 };
  const res = await runLookup({
    target: randomBytes(r, 20),
    ownId: randomBytes(r, 20),
    start: [a],
    k: 8,
    nodesOf: () => [],
    query: async () => reply({ ...a, id: randomBytes(r, 20) }, {}),
  });
  assert.deepEqual(res.closest, []);
});

test('an abort ends the lookup with what it has', async () => {
  const r = prng(9);
  const ac = new AbortController();
  const p = runLookup({
    target: randomBytes(r, 20),
    ownId: randomBytes(r, 20),
    start: [{ host: '10.0.0.1', port: 1 }],
    k: 8,
    nodesOf: () => [],
    signal: ac.signal,
    query: () => new Promise(() => undefined), // never answers
  });
  ac.abort();
  const res = await p;
  assert.equal(res.queries, 1);
});
