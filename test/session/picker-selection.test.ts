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

test('a piece claimed by a web seed is never picked for a peer; unclaimed it is again', () => {
  const picker = new PiecePicker(geometry(3), prng(4), 64);
  picker.sequential = true;
  for (let i = 0; i < 3; i++) picker.peerHasPiece(i);
  const claimed = picker.claimPiece();
  assert.equal(claimed, 0); // sequential: lowest first
  assert.equal(picker.claimedCount, 1);
  const peerPieces = new Set(picker.pick(all, 100).map((r) => r.index));
  assert.ok(!peerPieces.has(0));
  assert.equal(picker.claimPiece(), undefined); // every other piece is with the peer
  picker.unclaim(0);
  assert.deepEqual([...new Set(picker.pick(all, 100).map((r) => r.index))], [0]);
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

test('web seeds get the rarest piece among peers first', () => {
  const picker = new PiecePicker(geometry(4), prng(6), 64);
  for (const [i, n] of [[0, 3], [1, 1], [2, 0], [3, 2]] as const) for (let k = 0; k < n; k++) picker.peerHasPiece(i);
  assert.deepEqual([picker.claimPiece(), picker.claimPiece(), picker.claimPiece(), picker.claimPiece()], [2, 1, 3, 0]);
});
