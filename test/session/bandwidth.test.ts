// TokenBucket on a fake clock: the rate holds within 10% over 10 simulated seconds for
// several consumer patterns, every waiter is served, and a rate change takes effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket, type Timers } from '../../src/session/bandwidth.js';
import { prng } from '../helpers/random.js';

/** A fake clock: timers fire in time order as the test advances it. */
class FakeClock implements Timers {
  t = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.pending.delete(h as number);
  };
  get timerCount(): number {
    return this.pending.size;
  }
  /** Runs every timer due up to now+ms, in order, letting promise callbacks run between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await flush();
  }
}

/** Lets every pending promise callback run (setImmediate comes after the microtask queue drains). */
async function flush(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

const KiB = 1024;
const MiB = 1024 * 1024;

/** `consumers` loops that each await waitFor(size()) and count what they were granted, for `seconds`. */
async function greedy(rate: number, consumers: number, size: () => number, seconds: number) {
  const clock = new FakeClock();
  const bucket = new TokenBucket(rate, { now: clock.now, timers: clock });
  let granted = 0;
  let stop = false;
  const perConsumer = new Array<number>(consumers).fill(0);
  const maxWait = { ms: 0 };
  const loops = perConsumer.map(async (_, i) => {
    while (!stop) {
      const n = size();
      const asked = clock.t;
      await bucket.waitFor(n);
      if (stop) break;
      maxWait.ms = Math.max(maxWait.ms, clock.t - asked);
      granted += n;
      perConsumer[i]! += n;
    }
  });
  await clock.advance(seconds * 1000);
  stop = true;
  bucket.close();
  await Promise.allSettled(loops);
  return { granted, perConsumer, maxWait: maxWait.ms, bucket };
}

function within10(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * 0.1, `${what}: ${actual} bytes, expected ${expected} +-10%`);
}

test('one greedy consumer of 16 KiB requests gets the rate', async () => {
  for (const rate of [50 * KiB, 300 * KiB, 1 * MiB, 20 * MiB]) {
    const r = await greedy(rate, 1, () => 16 * KiB, 10);
    within10(r.granted, rate * 10, `rate ${rate}`);
  }
});

test('many consumers share the rate, each gets a fair part, nobody waits unboundedly', async () => {
  const rate = 1 * MiB;
  const r = await greedy(rate, 20, () => 16 * KiB, 10);
  within10(r.granted, rate * 10, '20 consumers');
  for (const [i, got] of r.perConsumer.entries()) within10(got, (rate * 10) / 20, `consumer ${i}`);
  // First come, first served: a waiter waits for at most everyone ahead of it, one round.
  assert.ok(r.maxWait <= ((20 * 16 * KiB) / rate) * 1000 + 50, `max wait ${r.maxWait} ms`);
});

test('mixed request sizes (1 byte to 64 KiB, more than the burst) hold the rate', async () => {
  const rand = prng(42);
  for (const rate of [100 * KiB, 2 * MiB]) {
    const r = await greedy(rate, 5, () => 1 + Math.floor(rand() * 64 * KiB), 10);
    within10(r.granted, rate * 10, `rate ${rate}`);
  }
});

test('a rate below one block still serves a block (debt), and the long run stays exact', async () => {
  const rate = 4 * KiB; // one 16 KiB request every 4 s
  const r = await greedy(rate, 3, () => 16 * KiB, 100);
  within10(r.granted, rate * 100, 'slow rate');
  assert.ok(r.maxWait <= (3 * 16 * KiB / rate) * 1000 + 50, `max wait ${r.maxWait} ms`);
});

test('take() polling every 50 ms gets the rate and never more than asked', async () => {
  const clock = new FakeClock();
  const rate = 512 * KiB;
  const bucket = new TokenBucket(rate, { now: clock.now, timers: clock });
  let granted = 0;
  for (let i = 0; i < 200; i++) {
    const g = bucket.take(64 * KiB);
    assert.ok(g >= 0 && g <= 64 * KiB);
    granted += g;
    await clock.advance(50);
  }
  within10(granted, rate * 10, 'polling');
});

test('an idle spell buys at most the burst, not a long full-speed run', async () => {
  const clock = new FakeClock();
  const rate = 1 * MiB;
  const bucket = new TokenBucket(rate, { now: clock.now, timers: clock });
  await clock.advance(60_000); // a minute idle
  assert.equal(bucket.take(10 * MiB), Math.floor(rate / 10), 'burst is 100 ms of rate');
  assert.equal(bucket.take(1), 0);
});

test('take() does not jump ahead of queued waiters', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(16 * KiB, { now: clock.now, timers: clock });
  bucket.take(16 * KiB);
  let done = false;
  void bucket.waitFor(16 * KiB).then(() => (done = true));
  await clock.advance(500);
  assert.equal(bucket.take(1024), 0, 'half the tokens are there, but the waiter is first');
  await clock.advance(501);
  assert.equal(done, true);
});

test('setRate takes effect at once: higher, lower, unlimited', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(100 * KiB, { now: clock.now, timers: clock });
  let granted = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await bucket.waitFor(16 * KiB);
      if (!stop) granted += 16 * KiB;
    }
  })();
  await clock.advance(10_000);
  within10(granted, 100 * KiB * 10, 'first 10 s at 100 KiB/s');
  granted = 0;
  bucket.setRate(1 * MiB);
  await clock.advance(10_000);
  within10(granted, 1 * MiB * 10, 'next 10 s at 1 MiB/s');
  granted = 0;
  bucket.setRate(20 * KiB);
  await clock.advance(10_000);
  within10(granted, 20 * KiB * 10, 'next 10 s at 20 KiB/s');
  // Unlimited releases the waiter that was queued at the old rate at once.
  const queued = bucket.queuedBytes;
  assert.equal(queued, 16 * KiB);
  stop = true;
  bucket.setRate(0);
  await flush();
  await loop;
  assert.equal(bucket.queuedBytes, 0);
  assert.equal(clock.timerCount, 0, 'no timer left');
  assert.equal(bucket.take(123_456_789), 123_456_789);
  await bucket.waitFor(1e12);
});

test('an aborted waiter leaves the queue, and the next one is served in its place', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(16 * KiB, { now: clock.now, timers: clock });
  bucket.take(16 * KiB);
  const ac = new AbortController();
  const first = bucket.waitFor(16 * KiB, ac.signal);
  let second = false;
  void bucket.waitFor(16 * KiB).then(() => (second = true));
  ac.abort(new Error('peer gone'));
  await assert.rejects(first, /peer gone/);
  await clock.advance(1001);
  assert.equal(second, true);
  await assert.rejects(bucket.waitFor(1, ac.signal), /peer gone/);
});

test('close() rejects waiters and clears the timer; bad arguments are refused', async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(1000, { now: clock.now, timers: clock, burstBytes: 1000 });
  bucket.take(1000);
  const w = bucket.waitFor(500);
  assert.equal(clock.timerCount, 1);
  bucket.close(new Error('shutdown'));
  await assert.rejects(w, /shutdown/);
  assert.equal(clock.timerCount, 0);
  assert.throws(() => new TokenBucket(-1), RangeError);
  assert.throws(() => new TokenBucket(Number.NaN), RangeError);
  assert.throws(() => new TokenBucket(10, { burstBytes: 0 }), RangeError);
  assert.throws(() => bucket.take(-1), RangeError);
  assert.throws(() => bucket.take(1.5), RangeError);
});
