// The picker's view of a file selection (only wanted pieces, progress in selected bytes),
// sequential order, and whole pieces claimed by web seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_LENGTH, PiecePicker, type PickerPeer } from '../../src/session/picker.js';
import { prng } from '../helpers/random.js';

const all: PickerPeer = { has: () => true, isRequested: () => false };
const geometry = (n: number) => ({ pieceCount: n, pieceLength: BLOCK_LENGTH, length: n * BLOCK_LENGTH - 100 });

test('with a selection only wanted pieces are picked, and complete means every wanted piece', () => {
  const wanted = new Float64Array([0, BLOCK_LENGTH, 500, 0, 0, BLOCK_LENGTH - 100]);
  const picker = new PiecePicker(geometry(6), prng(1), 64, wanted);
  assert.equal(picker.wantedPieceCount, 3);
  assert.equal(picker.wantedLength, 2 * BLOCK_LENGTH + 400);
  const picked = new Set(picker.pick(all, 100).map((r) => r.index));
  assert.deepEqual([...picked].sort(), [1, 2, 5]);
  assert.equal(picker.isComplete, false);
  for (const i of [1, 2]) picker.markHave(i);
  // A boundary piece counts only its bytes in selected files.
  assert.equal(picker.wantedVerifiedBytes, BLOCK_LENGTH + 500);
  // A piece found on disk that is not wanted is had (and served) but changes no progress.
  picker.markHave(3);
  assert.equal(picker.wantedVerifiedBytes, BLOCK_LENGTH + 500);
  picker.markHave(5);
  assert.equal(picker.isComplete, true);
  assert.equal(picker.hasAll, false);
  assert.equal(picker.wantedVerifiedBytes, picker.wantedLength);
  // A failed unwanted piece never becomes missing.
  picker.markFailed(0);
  assert.deepEqual(picker.pick(all, 10), []);
});

test('sequential: after the first few pieces, lowest index first; a failed piece goes back in order', () => {
  const n = 40;
  const picker = new PiecePicker(geometry(n), prng(2), 1);
  picker.sequential = true;
  const order: number[] = [];
  for (let k = 0; k < n; k++) {
    const [r] = picker.pick(all, 1);
    assert.ok(r);
    order.push(r.index);
    picker.markHave(r.index);
  }
  // The first four are random (something to trade early); the rest ascend.
  const rest = order.slice(4);
  assert.deepEqual(rest, [...rest].sort((a, b) => a - b));
  assert.equal(new Set(order).size, n);

  const again = new PiecePicker(geometry(10), prng(3), 1);
  again.sequential = true;
  for (const i of [0, 1, 2, 3]) again.markHave(i);
  assert.equal(again.pick(all, 1)[0]!.index, 4);
  again.markHave(4);
  again.markHave(2 + 3); // 5
  again.markFailed(4); // not had: no effect
  assert.equal(again.pick(all, 1)[0]!.index, 6);
});

test('a piece claimed by a web seed is not picked for a peer while anything else is missing; unclaimed it is again', () => {
  const picker = new PiecePicker(geometry(4), prng(4), 64);
  picker.sequential = true;
  for (let i = 0; i < 4; i++) picker.peerHasPiece(i);
  const claimed = picker.claimPiece();
  assert.equal(claimed, 0); // sequential: lowest first
  assert.equal(picker.claimedCount, 1);
  // Pieces 1-3 go to the peer first (in random order: the first few pieces are random).
  const first = [...picker.pick(all, 2), ...picker.pick(all, 1)].map((r) => r.index);
  assert.deepEqual(first.sort(), [1, 2, 3]);
  // Nothing else is missing: now the peer may fetch the claimed piece beside the web seed.
  assert.deepEqual(picker.pick(all, 100).map((r) => r.index), [0]);
  // The web seed gives up: the piece stays with the peer and is not missing twice.
  picker.unclaim(0);
  assert.equal(picker.claimedCount, 0);
  assert.equal(picker.inEndgame(), true, 'piece 0 is not missing again: its block is in flight');
  const q = new PiecePicker(geometry(2), prng(4), 64);
  assert.equal(q.claimPiece() !== undefined, true);
  const only = q.pick(all, 100).map((r) => r.index);
  assert.equal(only.length, 2, 'the other piece, then (nothing missing) the claimed one');
  q.unclaim(only[1]!);
  assert.equal(q.inEndgame(), true, 'unclaimed while partial: not missing again');
  // A claimed piece that is written is had; claims never count as missing.
  const p2 = new PiecePicker(geometry(2), prng(5), 64);
  const a = p2.claimPiece()!;
  const b = p2.claimPiece()!;
  assert.notEqual(a, b);
  p2.markHave(a);
  p2.markHave(b);
  assert.equal(p2.isComplete, true);
  assert.equal(p2.claimedCount, 0);
});

test('endgame with web seeds: once nothing is missing, peers fetch claimed pieces too, and the first to finish wins', () => {
  const g = { pieceCount: 3, pieceLength: 2 * BLOCK_LENGTH, length: 6 * BLOCK_LENGTH };
  const picker = new PiecePicker(g, prng(7), 64);
  picker.sequential = true;
  const onlyTwo: PickerPeer = { has: (i) => i !== 1, isRequested: () => false };
  assert.equal(picker.claimPiece(), 0);
  assert.equal(picker.claimPiece(), 1);
  // Piece 2 is still missing: the peer gets it (both blocks) and nothing claimed.
  assert.deepEqual(picker.pick(onlyTwo, 2).map((r) => r.index), [2, 2]);
  // Nothing is missing now. A peer that lacks the claimed piece is not interested in it...
  assert.equal(picker.wants({ has: (i) => i === 1, isRequested: () => false }), true, 'piece 1 is still to come');
  assert.equal(picker.wants({ has: () => false, isRequested: () => false }), false);
  // ...one that has it fetches it beside the web seed.
  const more = picker.pick(onlyTwo, 100);
  assert.deepEqual([...new Set(more.map((r) => r.index))], [0]);
  assert.equal(picker.isClaimed(0), true);

  // The peer finishes piece 0 first: the web seed's claim is gone (its copy will be dropped).
  const block = Buffer.alloc(BLOCK_LENGTH);
  assert.equal(picker.blockReceived(0, 0, block, 'peer').kind, 'stored');
  assert.equal(picker.blockReceived(0, BLOCK_LENGTH, block, 'peer').kind, 'complete');
  assert.equal(picker.isClaimed(0), false);
  picker.unclaim(0); // the seed gives up afterwards: no effect
  assert.equal(picker.claimedCount, 1);

  // Piece 1: a peer starts it; the web seed delivers first: the peers' partial piece is dropped.
  const late: PickerPeer = { has: () => true, isRequested: () => false };
  assert.deepEqual([...new Set(picker.pick(late, 100).map((r) => r.index))], [1]);
  assert.equal(picker.webSeedDelivered(1), true);
  assert.equal(picker.isClaimed(1), false);
  assert.equal(picker.webSeedDelivered(1), false);
  assert.equal(picker.blockReceived(1, 0, block, 'peer').kind, 'unwanted');
  // While it is written, no peer is handed it again (piece 2's blocks may be, as endgame duplicates).
  assert.ok(picker.pick(late, 100).every((r) => r.index !== 1));
  picker.markHave(1);
  assert.equal(picker.have[1], 1);
});

test('endgame with web seeds: an idle seed takes the partial piece with most blocks to come; giving up leaves it to the peers', () => {
  const g = { pieceCount: 3, pieceLength: 4 * BLOCK_LENGTH, length: 12 * BLOCK_LENGTH };
  const picker = new PiecePicker(g, prng(8), 64);
  picker.sequential = true;
  const peer: PickerPeer = { has: () => true, isRequested: () => false };
  const asked = picker.pick(peer, 100); // every block of every piece is in flight
  assert.equal(asked.length, 12);
  const block = Buffer.alloc(BLOCK_LENGTH);
  // Piece 0 has 3 blocks in, piece 1 none, piece 2 one.
  for (const b of [0, 1, 2]) picker.blockReceived(0, b * BLOCK_LENGTH, block, 'peer');
  picker.blockReceived(2, 0, block, 'peer');
  assert.equal(picker.claimPiece(), 1);
  assert.equal(picker.claimPiece(), 2);
  assert.equal(picker.claimPiece(), 0);
  assert.equal(picker.claimPiece(), undefined, 'each piece to one web seed at most');
  picker.unclaim(1);
  assert.equal(picker.claimedCount, 2);
  // Still partial (its blocks in flight with the peer), never missing twice.
  assert.equal(picker.inEndgame(), true);
  assert.equal(picker.partialCount, 3);
});

test('web seeds get the rarest piece among peers first', () => {
  const picker = new PiecePicker(geometry(4), prng(6), 64);
  for (const [i, n] of [[0, 3], [1, 1], [2, 0], [3, 2]] as const) for (let k = 0; k < n; k++) picker.peerHasPiece(i);
  assert.deepEqual([picker.claimPiece(), picker.claimPiece(), picker.claimPiece(), picker.claimPiece()], [2, 1, 3, 0]);
});
