// Shared pieces of the MSE tests: seeded randomness and a driver that runs both machines
// against each other with a chosen way of cutting every byte stream into chunks.
import { mulberry32 } from '../helpers/random.js';
import { MseInitiator, MseReceiver, type MseResult, type MseStep, type RandomBytes } from '../../src/mse/handshake.js';

export function seededRandom(seed: number): RandomBytes {
  const next = mulberry32(seed);
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = next() & 0xff;
    return out;
  };
}

/** Cuts a byte string into the chunks a socket might deliver. */
export type Chunker = (bytes: Buffer) => Buffer[];
export const whole: Chunker = (b) => [b];
export const byteByByte: Chunker = (b) => Array.from(b, (x) => Buffer.from([x]));
export const splitAt = (k: number): Chunker => (b) => [b.subarray(0, Math.min(k, b.length)), b.subarray(Math.min(k, b.length))];

export interface PairOutcome {
  a: MseStep & { kind: 'done' | 'error' } | undefined;
  b: MseStep & { kind: 'done' | 'error' } | undefined;
  /** Everything B received in total (A's whole handshake output). */
  aToB: Buffer;
  bToA: Buffer;
  /** Raw bytes that reached A (B) after it was done: the stream's job, not the machine's. */
  lateForA: Buffer;
  lateForB: Buffer;
}

/**
 * Runs A and B until both finish: each side's output is delivered to the other through the
 * chunker. `afterA`/`afterB` are appended to that side's stream once its handshake output is
 * complete (plaintext; encrypted here with that side's cipher, as the stream would).
 */
export function runPair(
  a: MseInitiator,
  b: MseReceiver,
  chunkAtoB: Chunker,
  chunkBtoA: Chunker,
  extra: { afterA?: Buffer; afterB?: Buffer } = {},
): PairOutcome {
  let toB: Buffer[] = [a.start()];
  let toA: Buffer[] = [];
  const allAtoB: Buffer[] = [...toB];
  const allBtoA: Buffer[] = [];
  let aEnd: PairOutcome['a'];
  let bEnd: PairOutcome['b'];
  const lateForA: Buffer[] = [];
  const lateForB: Buffer[] = [];
  for (let round = 0; round < 10 && (!aEnd || !bEnd); round++) {
    const forB = Buffer.concat(toB);
    toB = [];
    if (bEnd) lateForB.push(forB);
    else if (forB.length > 0) {
      for (const chunk of chunkAtoB(forB)) {
        if (bEnd) {
          lateForB.push(chunk);
          continue;
        }
        const step = b.receive(chunk);
        if (step.kind !== 'continue') bEnd = step;
        const send = step.kind === 'error' ? null : step.send;
        if (send) toA.push(send), allBtoA.push(send);
        if (step.kind === 'done' && extra.afterB) {
          const payload = Buffer.from(extra.afterB);
          step.result.encrypt?.transform(payload);
          toA.push(payload), allBtoA.push(payload);
        }
      }
    }
    const forA = Buffer.concat(toA);
    toA = [];
    if (aEnd) lateForA.push(forA);
    else if (forA.length > 0) {
      for (const chunk of chunkBtoA(forA)) {
        if (aEnd) {
          lateForA.push(chunk);
          continue;
        }
        const step = a.receive(chunk);
        if (step.kind !== 'continue') aEnd = step;
        const send = step.kind === 'error' ? null : step.send;
        if (send) toB.push(send), allAtoB.push(send);
        if (step.kind === 'done' && extra.afterA) {
          const payload = Buffer.from(extra.afterA);
          step.result.encrypt?.transform(payload);
          toB.push(payload), allAtoB.push(payload);
        }
      }
    }
    if (toA.length === 0 && toB.length === 0) break;
  }
  return {
    a: aEnd,
    b: bEnd,
    aToB: Buffer.concat(allAtoB),
    bToA: Buffer.concat(allBtoA),
    lateForA: Buffer.concat(lateForA),
    lateForB: Buffer.concat(lateForB),
  };
}

export function doneResult(step: MseStep | undefined): MseResult {
  if (!step || step.kind !== 'done') throw new Error(`expected done, got ${step?.kind}${step?.kind === 'error' ? `: ${step.err.message}` : ''}`);
  return step.result;
}
