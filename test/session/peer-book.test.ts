import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dialChoice, PeerBook } from '../../src/session/peer-book.js';

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

// --- which transport first (BEP 11 flags, earlier connections, failures) ------------------

test('dialChoice: uTP first for a peer PEX says speaks uTP, TCP first for the rest, TCP only when uTP is off', () => {
  const { b } = book('forget');
  b.add({ host: '127.0.0.1', port: 1, flags: 0x04 | 0x02 });
  b.add({ host: '127.0.0.1', port: 2, flags: 0x02 });
  b.add({ host: '127.0.0.1', port: 3 });
  const [utp, noUtpFlag, plain] = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map((l) => b.get(l)!);
  assert.deepEqual(dialChoice(utp!, true), { first: 'utp', why: 'PEX says it speaks uTP' });
  assert.equal(utp!.pexFlags, 0x06);
  assert.deepEqual(dialChoice(noUtpFlag!, true), { first: 'tcp', why: 'PEX does not say uTP' });
  assert.deepEqual(dialChoice(plain!, true), { first: 'tcp', why: 'nothing says it speaks uTP' });
  for (const r of [utp!, noUtpFlag!, plain!]) assert.equal(dialChoice(r, false).first, 'tcp');
});

test('dialChoice: a peer nothing advertises alternates after each failed attempt; an advertised one stays uTP first', () => {
  const { b } = book('forget', 100);
  b.add({ host: '127.0.0.1', port: 1 });
  b.add({ host: '127.0.0.1', port: 2, flags: 0x04 });
  const plain = b.get('127.0.0.1:1')!;
  const advertised = b.get('127.0.0.1:2')!;
  assert.equal(dialChoice(plain, true).first, 'tcp');
  b.failed(plain);
  assert.deepEqual(dialChoice(plain, true), { first: 'utp', why: 'the last attempt failed' });
  b.failed(plain);
  assert.equal(dialChoice(plain, true).first, 'tcp');
  b.failed(advertised);
  b.failed(advertised);
  assert.equal(dialChoice(advertised, true).first, 'utp');
});

test('a uTP connection either way, or a hint from the metadata fetch, makes uTP first; a later PEX without 0x04 does not undo it', () => {
  const { b } = book('forget');
  b.add({ host: '127.0.0.1', port: 1 });
  const r = b.get('127.0.0.1:1')!;
  b.connectedOver(r, 'tcp');
  assert.equal(dialChoice(r, true).first, 'tcp');
  b.connectedOver(r, 'utp');
  assert.deepEqual(dialChoice(r, true), { first: 'utp', why: 'it spoke uTP with us' });
  b.add({ host: '127.0.0.1', port: 1, flags: 0x00 });
  assert.equal(dialChoice(r, true).first, 'utp', 'a sender that reached it over TCP does not show it lacks uTP');
  assert.equal(r.pexFlags, 0);

  const incoming = b.incoming({ host: '127.0.0.9', port: 5000 });
  b.connectedOver(incoming, 'utp');
  assert.equal(incoming.utp, 'connection', 'a peer that reached us over uTP speaks it');

  b.add({ host: '127.0.0.1', port: 4, utp: true });
  assert.equal(dialChoice(b.get('127.0.0.1:4')!, true).first, 'utp');
});
