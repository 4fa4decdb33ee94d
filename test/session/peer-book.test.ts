import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerBook } from '../../src/session/peer-book.js';

function book(giveUp: 'forget' | 'ban', maxKnown = 100) {
  const clock = { t: 1_000_000 };
  const b = new PeerBook({ maxKnown, retryBaseMs: 1000, maxFailures: 3, giveUp, now: () => clock.t });
  return { b, clock };
}

const a = { host: '127.0.0.1', port: 1 };
const label = '127.0.0.1:1';

test('failures back off exponentially, and a dial in progress is not handed out twice', () => {
  const { b, clock } = book('forget');
  b.add(a);
  const [r] = b.takeDue(10, () => false);
  assert.ok(r);
  assert.deepEqual(b.takeDue(10, () => false), [], 'already being dialled');
  b.dialEnded(r);
  b.failed(r);
  assert.deepEqual(b.takeDue(10, () => false), [], 'backing off');
  clock.t += 1000;
  assert.equal(b.takeDue(10, () => false).length, 1, 'due after the first delay');
  b.dialEnded(r);
  b.failed(r);
  clock.t += 1999;
  assert.deepEqual(b.takeDue(10, () => false), [], 'the second delay is twice the first');
  clock.t += 1;
  assert.equal(b.takeDue(10, () => false).length, 1);
});

test('given up after maxFailures: forgotten, or banned', () => {
  for (const giveUp of ['forget', 'ban'] as const) {
    const { b } = book(giveUp);
    b.add(a);
    const r = b.get(label)!;
    for (let i = 0; i < 3; i++) b.failed(r);
    if (giveUp === 'forget') assert.equal(b.get(label), undefined);
    else assert.equal(b.isBanned(label), true);
  }
});

test('a ban outlives failures and is never dialled; incoming peers are not dialled', () => {
  const { b, clock } = book('forget');
  b.add(a);
  b.ban(label);
  for (let i = 0; i < 5; i++) b.failed(b.get(label)!);
  assert.equal(b.isBanned(label), true, 'still known and banned');
  clock.t += 1e9;
  assert.deepEqual(b.takeDue(10, () => false), []);
  const incoming = b.incoming({ host: '127.0.0.2', port: 50000 });
  assert.equal(incoming.dialable, false);
  assert.deepEqual(b.takeDue(10, () => false), []);
  b.add({ host: '127.0.0.2', port: 50000 }); // a tracker says it listens there after all
  assert.equal(b.takeDue(10, () => false).length, 1);
});

test('the book is bounded; busy labels and the budget are respected', () => {
  const { b } = book('forget', 5);
  for (let i = 0; i < 10; i++) b.add({ host: '127.0.0.1', port: 100 + i });
  assert.equal(b.size, 5);
  const due = b.takeDue(3, (l) => l === '127.0.0.1:100');
  assert.deepEqual(due.map((r) => r.address.port), [101, 102, 103]);
});
