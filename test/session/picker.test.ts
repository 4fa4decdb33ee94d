import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_LENGTH, PiecePicker, type PickerPeer } from '../../src/session/picker.js';
import { prng } from '../helpers/random.js';

/** A peer that has the given pieces and remembers what was asked of it. */
function peerWith(pieces: Iterable<number>): PickerPeer & { asked: Set<string> } {
  const has = new Set(pieces);
  const asked = new Set<string>();
  return { has: (i) => has.has(i), isRequested: (i, b) => asked.has(`${i}:${b}`), asked };
}

const range = (n: number) => [...Array(n).keys()];

test('blocks cover each piece exactly, the short last piece included', () => {
  const geometry = { pieceCount: 3, pieceLength: 2 * BLOCK_LENGTH, length: 2 * 2 * BLOCK_LENGTH + 100 };
  const picker = new PiecePicker(geometry, prng(1));
  const peer = peerWith(range(3));
  const picked = picker.pick(peer, 100);
  const byPiece = new Map<number, number>();
  for (const r of picked) byPiece.set(r.index, (byPiece.get(r.index) ?? 0) + r.length);
  assert.deepEqual([...byPiece.entries()].sort((a, b) => a[0] - b[0]), [
    [0, 2 * BLOCK_LENGTH],
    [1, 2 * BLOCK_LENGTH],
    [2, 100],
  ]);
  // Nothing is handed out twice outside endgame.
  assert.equal(new Set(picked.map((r) => `${r.index}:${r.begin}`)).size, picked.length);
});

test('only pieces the peer has are picked', () => {
  const picker = new PiecePicker({ pieceCount: 10, pieceLength: BLOCK_LENGTH, length: 10 * BLOCK_LENGTH }, prng(2));
  const picked = picker.pick(peerWith([3, 7]), 100);
  assert.deepEqual(picked.map((r) => r.index).sort(), [3, 7]);
});

test('rarest first once a few pieces are in hand', () => {
  const n = 20;
  const picker = new PiecePicker({ pieceCount: n, pieceLength: BLOCK_LENGTH, length: n * BLOCK_LENGTH }, prng(3));
  for (let i = 0; i < n; i++) picker.peerHasPiece(i);
  for (let i = 0; i < n; i++) if (i !== 13) picker.peerHasPiece(i); // every piece but 13 is on two peers
  for (let i = 0; i < 4; i++) picker.markHave(i); // past the random-first phase
  const [first] = picker.pick(peerWith(range(n)), 1);
  assert.equal(first?.index, 13);
});

test('partly downloaded pieces are finished before new ones start', () => {
  const picker = new PiecePicker({ pieceCount: 8, pieceLength: 4 * BLOCK_LENGTH, length: 32 * BLOCK_LENGTH }, prng(4));
  const a = peerWith(range(8));
  const [r] = picker.pick(a, 1);
  assert.ok(r);
  picker.requestDropped(r.index, r.begin);
  const next = picker.pick(peerWith(range(8)), 4);
  assert.ok(next.every((x) => x.index === r.index), 'the started piece comes first');
});

test('a complete piece is reported once, with its bytes in place', () => {
  const picker = new PiecePicker({ pieceCount: 1, pieceLength: 2 * BLOCK_LENGTH, length: 2 * BLOCK_LENGTH }, prng(5));
  const picked = picker.pick(peerWith([0]), 10);
  assert.equal(picked.length, 2);
  const first = picker.blockReceived(0, 0, Buffer.alloc(BLOCK_LENGTH, 1), 'a');
  assert.equal(first.kind, 'stored');
  assert.equal(picker.blockReceived(0, 0, Buffer.alloc(BLOCK_LENGTH, 1), 'a').kind, 'unwanted');
  const done = picker.blockReceived(0, BLOCK_LENGTH, Buffer.alloc(BLOCK_LENGTH, 2), 'b');
  assert.equal(done.kind, 'complete');
  if (done.kind !== 'complete') return;
  assert.equal(done.piece.buffer[0], 1);
  assert.equal(done.piece.buffer[BLOCK_LENGTH], 2);
  assert.deepEqual([...done.piece.contributors].sort(), ['a', 'b']);
  assert.equal(picker.blockReceived(0, BLOCK_LENGTH, Buffer.alloc(BLOCK_LENGTH), 'b').kind, 'unwanted');
});

test('blocks of the wrong length or misaligned offset are refused', () => {
  const picker = new PiecePicker({ pieceCount: 1, pieceLength: 2 * BLOCK_LENGTH, length: 2 * BLOCK_LENGTH }, prng(6));
  picker.pick(peerWith([0]), 10);
  assert.equal(picker.blockReceived(0, 0, Buffer.alloc(100), 'a').kind, 'unwanted');
  assert.equal(picker.blockReceived(0, 5, Buffer.alloc(BLOCK_LENGTH), 'a').kind, 'unwanted');
  assert.equal(picker.blockReceived(0, 2 * BLOCK_LENGTH, Buffer.alloc(BLOCK_LENGTH), 'a').kind, 'unwanted');
});

test('a failed piece is fetched again; a verified one never', () => {
  const picker = new PiecePicker({ pieceCount: 2, pieceLength: BLOCK_LENGTH, length: 2 * BLOCK_LENGTH }, prng(7));
  const picked = picker.pick(peerWith([0, 1]), 10);
  assert.equal(picked.length, 2);
  const done0 = picker.blockReceived(0, 0, Buffer.alloc(BLOCK_LENGTH), 'a');
  const done1 = picker.blockReceived(1, 0, Buffer.alloc(BLOCK_LENGTH), 'a');
  assert.equal(done0.kind, 'complete');
  assert.equal(done1.kind, 'complete');
  picker.markHave(0);
  picker.markFailed(1);
  assert.deepEqual(picker.pick(peerWith([0, 1]), 10).map((r) => r.index), [1]);
  assert.equal(picker.haveCount, 1);
  assert.equal(picker.verifiedBytes, BLOCK_LENGTH);
});

test('endgame asks a second peer for blocks in flight, never the same peer twice', () => {
  const picker = new PiecePicker({ pieceCount: 1, pieceLength: 2 * BLOCK_LENGTH, length: 2 * BLOCK_LENGTH }, prng(8));
  const a = peerWith([0]);
  const first = picker.pick(a, 10);
  for (const r of first) a.asked.add(`${r.index}:${r.begin}`);
  assert.equal(picker.inEndgame(), true);
  assert.deepEqual(picker.pick(a, 10), [], 'the same peer is not asked again');
  const b = peerWith([0]);
  const dup = picker.pick(b, 10);
  assert.equal(dup.length, 2);
  assert.deepEqual(picker.pick(peerWith([0]), 10), [], 'at most two peers per block');
});

test('memory is bounded: no more than maxPartial pieces in progress', () => {
  const n = 100;
  const picker = new PiecePicker({ pieceCount: n, pieceLength: 4 * BLOCK_LENGTH, length: n * 4 * BLOCK_LENGTH }, prng(9), 5);
  const picked = picker.pick(peerWith(range(n)), 1000);
  assert.equal(new Set(picked.map((r) => r.index)).size, 5);
  assert.equal(picker.partialCount, 5);
});

test('random property: any interleaving of picks and arrivals completes every piece once', () => {
  for (let round = 0; round < 50; round++) {
    const random = prng(100 + round);
    const pieceCount = 1 + Math.floor(random() * 12);
    const pieceLength = BLOCK_LENGTH * (1 + Math.floor(random() * 3));
    const length = pieceLength * (pieceCount - 1) + 1 + Math.floor(random() * pieceLength);
    const picker = new PiecePicker({ pieceCount, pieceLength, length }, random, 3);
    const peer = peerWith(range(pieceCount));
    const inFlight: { index: number; begin: number; length: number }[] = [];
    const completed: number[] = [];
    for (let step = 0; step < 10_000 && !picker.isComplete; step++) {
      if (inFlight.length === 0 || random() < 0.3) inFlight.push(...picker.pick(peer, 1 + Math.floor(random() * 5)));
      if (inFlight.length === 0) continue;
      const r = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
      if (random() < 0.1) {
        picker.requestDropped(r.index, r.begin);
        continue;
      }
      const outcome = picker.blockReceived(r.index, r.begin, Buffer.alloc(r.length), 'p');
      if (outcome.kind === 'complete') {
        completed.push(outcome.piece.index);
        picker.markHave(outcome.piece.index);
      }
    }
    assert.equal(picker.isComplete, true, `round ${round} finished`);
    assert.deepEqual([...completed].sort((a, b) => a - b), range(pieceCount));
    assert.equal(picker.verifiedBytes, length);
  }
});

test('a piece whose blocks are all requested is skipped until a request is dropped, then offered again', () => {
  const picker = new PiecePicker({ pieceCount: 2, pieceLength: 4 * 16384, length: 8 * 16384 }, () => 0, 1);
  const all = { has: () => true, isRequested: () => false };
  const first = picker.pick(all, 10);
  assert.equal(first.length, 4, 'one partial piece at most: its four blocks');
  assert.deepEqual(picker.pick(all, 10), [], 'nothing free while every block is in flight');
  picker.requestDropped(first[2]!.index, first[2]!.begin);
  assert.deepEqual(picker.pick(all, 10), [{ index: first[2]!.index, begin: first[2]!.begin, length: 16384 }]);
  // A block of the wrong length is dropped and its block offered again.
  picker.blockReceived(first[1]!.index, first[1]!.begin, Buffer.alloc(100), 'p');
  assert.deepEqual(picker.pick(all, 10), [{ index: first[1]!.index, begin: first[1]!.begin, length: 16384 }]);
});
