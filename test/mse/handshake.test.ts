import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  MAX_PAD,
  MseInitiator,
  MseReceiver,
  makeInfoHashFinder,
  type InitiatorOptions,
  type MseStep,
  type ReceiverOptions,
} from '../../src/mse/handshake.js';
import { MseError, type MseErrorCode } from '../../src/mse/errors.js';
import { byteByByte, doneResult, runPair, seededRandom, splitAt, whole, type Chunker } from './helpers.js';

const INFO_HASH = Buffer.from('0123456789abcdef0123456789abcdef01234567', 'hex');
const OTHER_HASH = Buffer.alloc(20, 0xee);
const BOTH = CRYPTO_RC4 | CRYPTO_PLAINTEXT;

function makePair(seed: number, a: Partial<InitiatorOptions> = {}, b: Partial<ReceiverOptions> = {}) {
  return {
    a: new MseInitiator({ infoHash: INFO_HASH, provide: BOTH, random: seededRandom(seed), ...a }),
    b: new MseReceiver({ findInfoHash: makeInfoHashFinder([OTHER_HASH, INFO_HASH]), allowed: BOTH, random: seededRandom(seed + 1000), ...b }),
  };
}

function expectError(step: MseStep | undefined, code: MseErrorCode): MseError {
  assert.ok(step && step.kind === 'error', `expected error ${code}, got ${step?.kind}`);
  assert.ok(step.err instanceof MseError);
  assert.equal(step.err.code, code, step.err.message);
  return step.err;
}

const HANDSHAKE_A = Buffer.concat([Buffer.from('\x13BitTorrent protocol', 'latin1'), Buffer.alloc(48, 0xa1)]);
const PAYLOAD_A = Buffer.from('first bytes from A after the handshake');
const PAYLOAD_B = Buffer.from('B answers: its handshake and a bitfield, say');

function checkAgreement(seed: number, a: Partial<InitiatorOptions>, b: Partial<ReceiverOptions>, chunkAB: Chunker, chunkBA: Chunker, expected: 'rc4' | 'plaintext') {
  const pair = makePair(seed, a, b);
  const out = runPair(pair.a, pair.b, chunkAB, chunkBA, { afterB: PAYLOAD_B });
  const ra = doneResult(out.a);
  const rb = doneResult(out.b);
  assert.equal(ra.method, expected);
  assert.equal(rb.method, expected);
  assert.deepEqual(rb.infoHash, INFO_HASH);
  assert.deepEqual(rb.initialPayload, Buffer.from(a.initialPayload ?? Buffer.alloc(0)));
  const lateB = Buffer.from(out.lateForA);
  ra.decrypt?.transform(lateB);
  assert.deepEqual(Buffer.concat([ra.remainder, lateB]), PAYLOAD_B);
  assert.equal(out.lateForB.length, 0);
  // B finished on A's step 3, before A's payload: it arrives later, through the ciphers.
  assert.equal(rb.remainder.length, 0);
  const later = Buffer.from(PAYLOAD_A);
  ra.encrypt?.transform(later);
  if (expected === 'rc4') assert.notDeepEqual(later, PAYLOAD_A);
  else assert.deepEqual(later, PAYLOAD_A);
  rb.decrypt?.transform(later);
  assert.deepEqual(later, PAYLOAD_A);
  return out;
}

test('MSE pair: every split point of either stream, RC4 with IA and pads at their bounds', () => {
  const cfg = { a: { initialPayload: HANDSHAKE_A, padA: MAX_PAD, padC: 3 }, b: { padB: 17, padD: MAX_PAD } };
  const first = checkAgreement(1, cfg.a, cfg.b, whole, whole, 'rc4');
  // The same seeds give the same bytes, so the split points cover the whole exchange.
  for (let k = 0; k <= first.aToB.length; k++) checkAgreement(1, cfg.a, cfg.b, splitAt(k), whole, 'rc4');
  for (let k = 0; k <= first.bToA.length; k++) checkAgreement(1, cfg.a, cfg.b, whole, splitAt(k), 'rc4');
  checkAgreement(1, cfg.a, cfg.b, byteByByte, byteByByte, 'rc4');
});

test('MSE pair: payload that arrives with the last handshake bytes becomes remainder', () => {
  const pair = makePair(3, { padA: 0 }, { padB: 0 });
  const yaPad = pair.a.start();
  const s2 = pair.b.receive(yaPad);
  assert.equal(s2.kind, 'continue');
  const s3 = pair.a.receive((s2 as { send: Buffer }).send);
  assert.equal(s3.kind, 'continue');
  const s4 = pair.b.receive((s3 as { send: Buffer }).send);
  const rb = doneResult(s4);
  const fromB = Buffer.from(PAYLOAD_B);
  rb.encrypt!.transform(fromB);
  const ra = doneResult(pair.a.receive(Buffer.concat([(s4 as { send: Buffer }).send, fromB])));
  assert.deepEqual(ra.remainder, PAYLOAD_B);
});

test('MSE pair: method negotiation (RC4 preferred, plaintext when that is all one side has)', () => {
  checkAgreement(4, { provide: BOTH }, { allowed: BOTH }, whole, whole, 'rc4');
  checkAgreement(5, { provide: CRYPTO_RC4 }, { allowed: BOTH }, byteByByte, whole, 'rc4');
  checkAgreement(6, { provide: BOTH }, { allowed: CRYPTO_PLAINTEXT }, whole, byteByByte, 'plaintext');
  checkAgreement(7, { provide: CRYPTO_PLAINTEXT, initialPayload: HANDSHAKE_A }, { allowed: BOTH }, byteByByte, byteByByte, 'plaintext');
  for (let seed = 10; seed < 40; seed++) checkAgreement(seed, {}, {}, whole, whole, 'rc4'); // random pads
  const none = runPair(...(Object.values(makePair(8, { provide: CRYPTO_PLAINTEXT }, { allowed: CRYPTO_RC4 })) as [MseInitiator, MseReceiver]), whole, whole);
  expectError(none.b, 'EMSE_NO_COMMON_METHOD');
  assert.equal(none.a, undefined, 'A is left waiting; the caller closes on B hanging up');
});

test('MSE receiver: an unknown info-hash is refused', () => {
  const pair = makePair(9, { infoHash: Buffer.alloc(20, 0x42) });
  expectError(runPair(pair.a, pair.b, whole, whole).b, 'EMSE_UNKNOWN_TORRENT');
});

/** A's whole handshake output for seed, pads fixed; and where step 3 starts in it. */
function recordA(seed: number, a: Partial<InitiatorOptions> = {}, b: Partial<ReceiverOptions> = {}) {
  const pair = makePair(seed, { padA: 10, ...a }, { padB: 20, ...b });
  const out = runPair(pair.a, pair.b, whole, whole);
  return { out, step3At: 96 + (a.padA ?? 10), step4At: 96 + (b.padB ?? 20) };
}

/** Replays a recorded A->B stream to a fresh B with the same seed (same DH key), so edits land deep in the handshake. */
function replayToB(seed: number, stream: Buffer, b: Partial<ReceiverOptions> = {}, chunker: Chunker = whole): MseStep {
  const { b: fresh } = makePair(seed, {}, { padB: 20, ...b });
  let last: MseStep = { kind: 'continue', send: null };
  for (const c of chunker(stream)) {
    last = fresh.receive(c);
    if (last.kind !== 'continue') break;
  }
  return last;
}
function replayToA(seed: number, stream: Buffer, a: Partial<InitiatorOptions> = {}, chunker: Chunker = whole): MseStep {
  const { a: fresh } = makePair(seed, { padA: 10, ...a });
  fresh.start();
  let last: MseStep = { kind: 'continue', send: null };
  for (const c of chunker(stream)) {
    last = fresh.receive(c);
    if (last.kind !== 'continue') break;
  }
  return last;
}

/** Flips plaintext bits under RC4 by flipping the same ciphertext bits. */
function flip(stream: Buffer, at: number, mask: number): Buffer {
  const copy = Buffer.from(stream);
  copy[at] = copy[at]! ^ mask;
  return copy;
}

test('MSE replay: the recorded streams reproduce the handshake (so the edits below are meaningful)', () => {
  const { out } = recordA(20);
  doneResult(replayToB(20, out.aToB));
  doneResult(replayToA(20, out.bToA));
});

test('MSE bounds: PadA/PadB of 512 sync, one byte more does not', () => {
  const { out, step3At } = recordA(21, { padA: MAX_PAD });
  doneResult(replayToB(21, out.aToB));
  const longer = Buffer.concat([out.aToB.subarray(0, step3At), Buffer.from([0]), out.aToB.subarray(step3At)]);
  const err = expectError(replayToB(21, longer, {}, byteByByte), 'EMSE_NO_SYNC');
  assert.deepEqual(err.details, { marker: 'req1', searched: 532 });

  const rb = recordA(22, {}, { padB: MAX_PAD });
  doneResult(replayToA(22, rb.out.bToA));
  const longerB = Buffer.concat([rb.out.bToA.subarray(0, rb.step4At), Buffer.from([0]), rb.out.bToA.subarray(rb.step4At)]);
  assert.deepEqual(expectError(replayToA(22, longerB), 'EMSE_NO_SYNC').details, { marker: 'vc', searched: 520 });
});

test('MSE bounds: len(PadC), len(PadD) over 512 and len(IA) over the bound are refused before waiting for them', () => {
  const { out, step3At, step4At } = recordA(23);
  // step 3: req1 (20), req2^req3 (20), then ENCRYPT(VC 8, provide 4, len(PadC) 2, ...)
  const padC = flip(flip(out.aToB, step3At + 40 + 12, 0x02), step3At + 40 + 13, 0x01); // 0 -> 513
  assert.deepEqual(expectError(replayToB(23, padC), 'EMSE_BAD_LENGTH').details, { field: 'padC', length: 513, max: 512 });
  const vc = flip(out.aToB, step3At + 40 + 3, 0x80);
  expectError(replayToB(23, vc), 'EMSE_BAD_VC');
  const provide = flip(out.aToB, step3At + 40 + 11, 0x03); // BOTH -> 0
  expectError(replayToB(23, provide), 'EMSE_NO_COMMON_METHOD');
  // step 4: ENCRYPT(VC 8, select 4, len(PadD) 2)
  const padD = flip(out.bToA, step4At + 12, 0xff);
  assert.equal((expectError(replayToA(23, padD), "EMSE_BAD_LENGTH").details as { field: string }).field, "padD");
  const select = flip(out.bToA, step4At + 11, 0x03); // RC4 (2) -> 1 ^ ... = 1? 2^3 = 1: plaintext, which A offered
  doneResult(replayToA(23, select));
  const selectBoth = flip(out.bToA, step4At + 11, 0x01); // 2 -> 3: two methods at once
  assert.deepEqual(expectError(replayToA(23, selectBoth), 'EMSE_BAD_SELECT').details, { selected: 3, provided: BOTH });
  const rc4Only = recordA(24, { provide: CRYPTO_RC4 });
  const sneaky = flip(rc4Only.out.bToA, rc4Only.step4At + 11, 0x03); // plaintext, which A did not offer
  expectError(replayToA(24, sneaky, { provide: CRYPTO_RC4 }), 'EMSE_BAD_SELECT');

  const ia = recordA(25, { initialPayload: Buffer.alloc(69, 1) });
  assert.deepEqual(expectError(replayToB(25, ia.out.aToB, { maxInitialPayload: 68 }), 'EMSE_BAD_LENGTH').details, { field: 'IA', length: 69, max: 68 });
  doneResult(replayToB(25, ia.out.aToB, { maxInitialPayload: 69 }));
});

test('MSE truncated: every prefix of a handshake leaves both sides waiting, never done or failed', () => {
  const { out } = recordA(26, { initialPayload: HANDSHAKE_A });
  for (let n = 0; n < out.aToB.length; n += 7) assert.equal(replayToB(26, out.aToB.subarray(0, n)).kind, 'continue', `B after ${n}`);
  for (let n = 0; n < out.bToA.length; n += 7) assert.equal(replayToA(26, out.bToA.subarray(0, n)).kind, 'continue', `A after ${n}`);
});

test('MSE garbage: a bad public key or no marker in the window is an error, after a bounded read', () => {
  expectError(replayToB(27, Buffer.alloc(96, 0)), 'EMSE_BAD_PUBLIC_KEY');
  expectError(replayToA(27, Buffer.alloc(96, 0xff)), 'EMSE_BAD_PUBLIC_KEY');
  const noise = seededRandom(99)(96 + 532 + 100);
  noise[0] = 0x10; // below P
  assert.equal(replayToB(27, noise.subarray(0, 96 + 531)).kind, 'continue');
  expectError(replayToB(27, noise), 'EMSE_NO_SYNC');
  expectError(replayToA(27, noise), 'EMSE_NO_SYNC');
  // A plain BitTorrent handshake sent to a receiver that expected MSE: Ya would be too short.
  assert.equal(replayToB(27, HANDSHAKE_A).kind, 'continue');
});

test('MSE machines: feeding after the end is an error value; bad options throw for our own bugs', () => {
  const pair = makePair(28);
  const out = runPair(pair.a, pair.b, whole, whole);
  doneResult(out.a);
  expectError(pair.a.receive(Buffer.from([1])), 'EMSE_INVALID_ARGUMENT');
  assert.throws(() => new MseInitiator({ infoHash: Buffer.alloc(19), provide: BOTH }), MseError);
  assert.throws(() => new MseInitiator({ infoHash: INFO_HASH, provide: 4 }), MseError);
  assert.throws(() => new MseInitiator({ infoHash: INFO_HASH, provide: BOTH, padA: 513 }), MseError);
  assert.throws(() => new MseReceiver({ findInfoHash: () => undefined, allowed: 0 }), MseError);
});
