import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bitfield, WireError } from '../../src/wire/index.js';
import { hex } from './helpers.js';
import { Rng } from '../helpers/random.js';

test('piece 0 is the high bit of byte 0', () => {
  const field = new Bitfield(10);
  field.set(0);
  field.set(9);
  assert.deepEqual(field.toBuffer(), hex('8040'));
  assert.equal(field.get(0), true);
  assert.equal(field.get(1), false);
  assert.equal(field.get(9), true);
  assert.equal(field.count, 2);
});

test('set/clear keep the count exact and are idempotent', () => {
  const field = new Bitfield(20);
  field.set(3);
  field.set(3);
  assert.equal(field.count, 1);
  field.clear(3);
  field.clear(3);
  assert.equal(field.count, 0);
  assert.equal(field.isEmpty(), true);
});

test('setAll leaves spare bits clear; isComplete', () => {
  const field = new Bitfield(13);
  field.setAll();
  assert.deepEqual(field.toBuffer(), hex('fff8'));
  assert.equal(field.isComplete(), true);
  field.clear(12);
  assert.equal(field.isComplete(), false);
  assert.deepEqual(Bitfield.full(16).toBuffer(), hex('ffff'));
  assert.equal(new Bitfield(0).isComplete(), true);
});

test('get out of range is false; set/clear out of range throw EWIRE_BAD_INDEX', () => {
  const field = new Bitfield(8);
  assert.equal(field.get(8), false);
  assert.equal(field.get(-1), false);
  assert.equal(field.get(Number.NaN), false);
  assert.throws(() => field.set(8), (e: unknown) => e instanceof WireError && e.code === 'EWIRE_BAD_INDEX');
  assert.throws(() => field.clear(-1), WireError);
  assert.throws(() => field.set(1.5), WireError);
});

test('fromBuffer rejects a wrong length and spare bits with typed errors', () => {
  assert.throws(() => Bitfield.fromBuffer(hex('ff'), 9), (e: unknown) => e instanceof WireError && e.code === 'EWIRE_BAD_LENGTH');
  assert.throws(() => Bitfield.fromBuffer(hex('ffff00'), 9), (e: unknown) => e instanceof WireError && e.code === 'EWIRE_BAD_LENGTH');
  assert.throws(
    () => Bitfield.fromBuffer(hex('ffc0'), 9),
    (e: unknown) => e instanceof WireError && e.code === 'EWIRE_SPARE_BITS' && (e.details as { lastByte: number }).lastByte === 0xc0,
  );
  const ok = Bitfield.fromBuffer(hex('ff80'), 9);
  assert.equal(ok.count, 9);
  assert.equal(ok.isComplete(), true);
});

test('fromBuffer copies: later changes to the input do not leak in', () => {
  const input = hex('f0');
  const field = Bitfield.fromBuffer(input, 8);
  input[0] = 0;
  assert.equal(field.count, 4);
  const out = field.toBuffer();
  out[0] = 0;
  assert.equal(field.get(0), true);
});

test('random round-trip: toBuffer -> fromBuffer gives the same pieces and count', () => {
  const rng = new Rng(11);
  for (let i = 0; i < 200; i++) {
    const n = rng.int(2000);
    const field = new Bitfield(n);
    const expected = new Set<number>();
    for (let k = 0; k < rng.int(n + 1); k++) {
      const index = rng.int(n);
      if (rng.int(3) === 0) {
        field.clear(index);
        expected.delete(index);
      } else {
        field.set(index);
        expected.add(index);
      }
    }
    const back = Bitfield.fromBuffer(field.toBuffer(), n);
    assert.equal(back.count, expected.size);
    for (let p = 0; p < n; p++) assert.equal(back.get(p), expected.has(p));
  }
});
