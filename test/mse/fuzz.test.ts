/**
 * Mutation fuzzing of both MSE handshake machines with a seeded PRNG (same inputs every run).
 * Valid exchanges are recorded, mutated, cut into random chunks and replayed to fresh machines
 * with the recorded machines' seeds, so the same DH keys come out and mutations reach every
 * state (not just the first 96 bytes). Nothing may throw, every failure is an MseError, and
 * the bytes a machine holds stay under the largest single thing it may wait for (the IA).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MAX_INITIAL_PAYLOAD,
  MseInitiator,
  MseReceiver,
  makeInfoHashFinder,
  type MseStep,
} from '../../src/mse/handshake.js';
import { MseError } from '../../src/mse/errors.js';
import { Rng } from '../helpers/random.js';
import { mutate } from '../wire/helpers.js';
import { runPair, seededRandom, whole } from './helpers.js';

const ITERATIONS = Number(process.env.PYTOR_FUZZ_ITERATIONS ?? 3000);
const INFO_HASH = Buffer.alloc(20, 0x3c);
/** The most a machine may hold: a whole IA (plus its length field's pad) is the largest wait. */
const HOLD_BOUND = MAX_INITIAL_PAYLOAD + 2 + 512;

const initiator = (seed: number, ia: Buffer) =>
  new MseInitiator({ infoHash: INFO_HASH, provide: CRYPTO_RC4 | CRYPTO_PLAINTEXT, random: seededRandom(seed), initialPayload: ia });
const receiver = (seed: number) =>
  new MseReceiver({ findInfoHash: makeInfoHashFinder([INFO_HASH]), allowed: CRYPTO_RC4 | CRYPTO_PLAINTEXT, random: seededRandom(seed + 1) });

function chunks(rng: Rng, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + rng.int(rng.int(4) === 0 ? 8 : 700);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

function feed(machine: { receive(c: Uint8Array): MseStep; bufferedBytes: number }, parts: Buffer[]): MseStep {
  let last: MseStep = { kind: 'continue', send: null };
  for (const p of parts) {
    last = machine.receive(p);
    if (last.kind === 'error') {
      assert.ok(last.err instanceof MseError, `not an MseError: ${String(last.err)}`);
      assert.match(last.err.code, /^EMSE_/);
      return last;
    }
    if (last.kind === 'done') return last;
    assert.ok(machine.bufferedBytes <= HOLD_BOUND, `holds ${machine.bufferedBytes} bytes`);
  }
  return last;
}

test('fuzz the MSE machines: mutated handshakes never throw, errors are MseErrors, memory stays bounded', () => {
  const rng = new Rng(0x5eed);
  const recorded: { seed: number; ia: Buffer; aToB: Buffer; bToA: Buffer }[] = [];
  for (let seed = 1; seed <= 8; seed++) {
    const ia = rng.bytes(rng.int(3) === 0 ? 0 : 68);
    const out = runPair(initiator(seed, ia), receiver(seed), whole, whole);
    assert.equal(out.a?.kind, 'done');
    assert.equal(out.b?.kind, 'done');
    recorded.push({ seed, ia, aToB: out.aToB, bToA: out.bToA });
  }
  const outcomes = new Map<string, number>();
  const note = (s: MseStep) => {
    const k = s.kind === 'error' ? s.err.code : s.kind;
    outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  };
  for (let i = 0; i < ITERATIONS; i++) {
    const r = rng.pick(recorded);
    if (rng.int(2) === 0) {
      note(feed(receiver(r.seed), chunks(rng, mutate(rng, r.aToB))));
    } else {
      const a = initiator(r.seed, r.ia);
      a.start();
      note(feed(a, chunks(rng, mutate(rng, r.bToA))));
    }
  }
  // The mutations reached deep states, not only the DH key check.
  for (const code of ['done', 'continue', 'EMSE_NO_SYNC']) assert.ok((outcomes.get(code) ?? 0) > 0, `no ${code} in ${JSON.stringify([...outcomes])}`);
  const deep = ['EMSE_BAD_VC', 'EMSE_BAD_LENGTH', 'EMSE_NO_COMMON_METHOD', 'EMSE_BAD_SELECT', 'EMSE_UNKNOWN_TORRENT'].filter((c) => (outcomes.get(c) ?? 0) > 0);
  assert.ok(deep.length >= 3, `deep errors reached: ${deep.join(', ')} (${JSON.stringify([...outcomes])})`);
});

test('fuzz the MSE machines: long random noise ends in an error after a bounded read', () => {
  const rng = new Rng(77);
  for (let i = 0; i < 200; i++) {
    const noise = rng.bytes(96 + 600 + rng.int(100_000));
    const r = feed(receiver(i), chunks(rng, noise));
    const a = initiator(i, Buffer.alloc(0));
    a.start();
    const s = feed(a, chunks(rng, noise));
    assert.equal(r.kind, 'error');
    assert.equal(s.kind, 'error');
  }
});
