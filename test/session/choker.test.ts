import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUnchoked } from '../../src/session/choker.js';

const peer = (id: string, rate: number, interested = true) => ({ id, rate, interested });

test('the fastest interested peers get the regular slots', () => {
  const { unchoked } = chooseUnchoked(
    [peer('a', 10), peer('b', 50), peer('c', 30), peer('d', 40), peer('e', 20), peer('f', 99, false)],
    3,
    undefined,
    false,
    () => 0,
  );
  assert.ok(unchoked.has('b') && unchoked.has('d') && unchoked.has('c'));
  assert.ok(!unchoked.has('f'), 'uninterested peers are never unchoked');
  assert.equal(unchoked.size, 4, 'three regular slots plus one optimistic');
});

test('the optimistic slot stays until it rotates, then moves', () => {
  const peers = [peer('a', 100), peer('b', 1), peer('c', 1), peer('d', 1)];
  const first = chooseUnchoked(peers, 1, undefined, true, () => 0);
  assert.equal(first.optimistic, 'b');
  const kept = chooseUnchoked(peers, 1, first.optimistic, false, () => 0.99);
  assert.equal(kept.optimistic, 'b');
  const rotated = chooseUnchoked(peers, 1, kept.optimistic, true, () => 0.99);
  assert.equal(rotated.optimistic, 'd');
  assert.ok(rotated.unchoked.has('a') && rotated.unchoked.has('d'));
});

test('no interested peers: nobody is unchoked', () => {
  const { unchoked, optimistic } = chooseUnchoked([peer('a', 5, false)], 4, 'a', false);
  assert.equal(unchoked.size, 0);
  assert.equal(optimistic, undefined);
});

test('the optimistic slot goes to the peer choked the longest', () => {
  const peers = [
    { id: 'a', rate: 100, interested: true },
    { id: 'b', rate: 1, interested: true, chokedSince: 5_000 },
    { id: 'c', rate: 1, interested: true, chokedSince: 1_000 },
    { id: 'd', rate: 1, interested: true, chokedSince: 3_000 },
  ];
  // random() would pick the last one: the wait decides, not luck.
  const { optimistic, unchoked } = chooseUnchoked(peers, 1, undefined, true, () => 0.99);
  assert.equal(optimistic, 'c');
  assert.deepEqual([...unchoked].sort(), ['a', 'c']);
});

test('a rotation moves the slot off the current optimistic peer while another waits', () => {
  // b is the optimistic peer (unchoked, so not waiting); c has waited since it came.
  const peers = [
    { id: 'a', rate: 100, interested: true },
    { id: 'b', rate: 40, interested: true },
    { id: 'c', rate: 0, interested: true, chokedSince: 2_000 },
  ];
  for (const r of [0, 0.5, 0.99]) {
    const { optimistic, unchoked } = chooseUnchoked(peers, 1, 'b', true, () => r);
    assert.equal(optimistic, 'c');
    assert.ok(!unchoked.has('b'), 'b goes back to waiting');
  }
});

test('an optimistic peer that outgrew its slot takes a regular one; the waiting peer gets the optimistic slot', () => {
  // b (optimistic) now uploads faster than a (regular): a is demoted, and c, which has waited,
  // is preferred to a, which has not.
  const peers = [
    { id: 'a', rate: 10, interested: true },
    { id: 'b', rate: 90, interested: true },
    { id: 'c', rate: 0, interested: true, chokedSince: 2_000 },
  ];
  const { optimistic, unchoked } = chooseUnchoked(peers, 1, 'b', false, () => 0);
  assert.equal(optimistic, 'c');
  assert.deepEqual([...unchoked].sort(), ['b', 'c']);
});
