import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DECREASE_BYTES_PER_RTT, GAIN, Ledbat, RttEstimator, TARGET_DELAY_US, u32Diff } from '../../src/utp/index.js';
import { SimNet } from './sim.js';

const MSS = 1000;

/**
 * Acks one window's worth of packets at `delayUs` one-way delay from a sender that always
 * fills its window (flight = cwnd before each ack); the clock advances by rttMs.
 */
function ackWindow(l: Ledbat, clock: { now: number }, delayUs: number, rttMs = 50): void {
  const flight = Math.floor(l.cwnd);
  for (let acked = 0; acked < flight; acked += MSS) {
    l.addDelaySample(clock.now, delayUs);
    l.onAck(MSS, true);
  }
  clock.now += rttMs;
}

test('LEDBAT grows below the target delay and shrinks above it', () => {
  const clock = { now: 0 };
  const l = new Ledbat({ mss: MSS, maxWindow: 10_000_000, slowStart: false });
  const base = 20_000;
  l.addDelaySample(0, base); // base delay
  const start = l.cwnd;
  for (let i = 0; i < 50; i++) ackWindow(l, clock, base + 5_000);
  const grown = l.cwnd;
  assert.ok(grown > start + 30 * MSS, `grew to ${grown} from ${start}`);
  // Each RTT adds at most GAIN * MSS (off_target <= 1).
  assert.ok(grown <= start + 50 * MSS + 1, `at most one MSS per RTT: ${grown}`);
  for (let i = 0; i < 20; i++) ackWindow(l, clock, base + 2 * TARGET_DELAY_US);
  assert.ok(l.cwnd < grown - 10 * MSS, `shrank to ${l.cwnd} from ${grown} above target`);
  assert.equal(l.queuingDelay(), 2 * TARGET_DELAY_US);
});

test('LEDBAT gives way faster than it grows: 3000 bytes per RTT at twice the target, scaled by off_target', () => {
  // A TCP flow holding the bottleneck queue at twice the target must not leave uTP most of its
  // window for many seconds: at 1 MSS per RTT (RFC 6817's GAIN) a 100 kB window lost only 60 kB
  // in 10 s at a real bloated router (test/interop/utp-ledbat-tcp.test.ts).
  const clock = { now: 0 };
  const base = 20_000;
  const shrinkOver = (queueUs: number): number => {
    const l = new Ledbat({ mss: MSS, maxWindow: 10_000_000, slowStart: false });
    l.addDelaySample(0, base);
    l.cwnd = 100 * MSS;
    ackWindow(l, clock, base + queueUs);
    return 100 * MSS - l.cwnd;
  };
  const atTwice = shrinkOver(2 * TARGET_DELAY_US);
  assert.ok(atTwice > 0.97 * DECREASE_BYTES_PER_RTT && atTwice < 1.05 * DECREASE_BYTES_PER_RTT, `one RTT at 2x target: -${atTwice}`);
  assert.ok(atTwice > 2 * GAIN * MSS, 'faster than the increase cap');
  const atThrice = shrinkOver(3 * TARGET_DELAY_US);
  assert.ok(Math.abs(atThrice - 2 * atTwice) < 0.05 * atThrice, `proportional to off_target: -${atThrice} vs -${atTwice}`);
  // Half over the target: half the decrease.
  const atOneAndHalf = shrinkOver(1.5 * TARGET_DELAY_US);
  assert.ok(Math.abs(atOneAndHalf - atTwice / 2) < 0.05 * atTwice, `-${atOneAndHalf} vs -${atTwice}`);
});

test('LEDBAT at the target delay holds the window', () => {
  const clock = { now: 0 };
  const l = new Ledbat({ mss: MSS, maxWindow: 10_000_000, slowStart: false });
  l.addDelaySample(0, 1_000_000);
  l.cwnd = 50 * MSS;
  for (let i = 0; i < 20; i++) ackWindow(l, clock, 1_000_000 + TARGET_DELAY_US);
  // The first samples still see the base in the current-delay filter: a few bytes of growth.
  assert.ok(Math.abs(l.cwnd - 50 * MSS) < MSS / 10, `${l.cwnd}`);
});

test('LEDBAT halves on loss, once per RTT, and drops to one packet on timeout', () => {
  const l = new Ledbat({ mss: MSS, maxWindow: 10_000_000, slowStart: false });
  l.cwnd = 64 * MSS;
  l.onLoss(1000, 50);
  assert.equal(l.cwnd, 32 * MSS);
  l.onLoss(1020, 50); // same RTT: not again
  assert.equal(l.cwnd, 32 * MSS);
  l.onLoss(1060, 50);
  assert.equal(l.cwnd, 16 * MSS);
  for (let i = 0; i < 10; i++) l.onLoss(2000 + i * 100, 50);
  assert.equal(l.cwnd, 2 * MSS, 'never below the minimum window');
  l.onTimeout();
  assert.equal(l.cwnd, MSS);
});

test('slow start doubles per RTT until half the target delay, then LEDBAT takes over', () => {
  const clock = { now: 0 };
  const l = new Ledbat({ mss: MSS, maxWindow: 100_000_000 });
  l.addDelaySample(0, 10_000);
  ackWindow(l, clock, 10_000);
  ackWindow(l, clock, 10_000);
  assert.equal(l.cwnd, 8 * MSS, 'two RTTs of slow start: 2 -> 4 -> 8 packets');
  ackWindow(l, clock, 10_000 + TARGET_DELAY_US);
  assert.equal(l.slowStart, false);
});

test('an application-limited sender does not grow its window, but still shrinks it', () => {
  const l = new Ledbat({ mss: MSS, maxWindow: 100_000_000, slowStart: false });
  l.cwnd = 100 * MSS;
  l.addDelaySample(0, 5000);
  for (let i = 0; i < 100; i++) l.onAck(MSS, false);
  assert.equal(l.cwnd, 100 * MSS);
  l.addDelaySample(1, 5000 + 3 * TARGET_DELAY_US);
  for (let i = 0; i < 10; i++) l.addDelaySample(2, 5000 + 3 * TARGET_DELAY_US);
  for (let i = 0; i < 100; i++) l.onAck(MSS, false);
  assert.ok(l.cwnd < 100 * MSS);
});

test('base delay is the minimum over a rolling window and handles u32 wrap-around', () => {
  const l = new Ledbat({ mss: MSS, maxWindow: 1_000_000 });
  // Clocks offset so the one-way "delay" is near 2^32 and wraps.
  const near = 0xffff_fff0;
  l.addDelaySample(0, near);
  l.addDelaySample(1000, (near + 50_000) >>> 0); // wrapped: 50 ms more
  assert.equal(l.baseDelay(), near);
  assert.equal(u32Diff((near + 50_000) >>> 0, near), 50_000);
  // A lower delay becomes the base; after ten minutes without it, it ages out.
  l.addDelaySample(2000, (near - 1000) >>> 0);
  assert.equal(l.baseDelay(), (near - 1000) >>> 0);
  for (let minute = 1; minute <= 11; minute++) l.addDelaySample(minute * 60_000 + 1, (near + 20_000) >>> 0);
  assert.equal(l.baseDelay(), (near + 20_000) >>> 0);
});

test('RTT estimator: BEP 29 smoothing, 500 ms floor, back-off on timeout', () => {
  const r = new RttEstimator();
  assert.equal(r.timeout(), 1000, 'before any sample');
  r.sample(100);
  assert.equal(r.rtt, 100);
  assert.equal(r.timeout(), 500, 'rtt + 4 * rtt_var = 300 is below the floor');
  for (let i = 0; i < 50; i++) r.sample(1000);
  assert.ok(r.rtt > 990 && r.rtt <= 1000);
  const t = r.timeout();
  assert.ok(t >= 1000 && t < 1200, `${t}`);
  r.onTimeout();
  assert.equal(r.timeout(), 2 * t);
  r.onTimeout();
  assert.equal(r.timeout(), 4 * t);
  r.sample(1000);
  assert.ok(r.timeout() < 1.5 * t, 'a new sample ends the back-off');
  r.sample(-5);
  r.sample(Number.NaN);
  assert.ok(Number.isFinite(r.timeout()));
});

/**
 * A bulk upload through a 1 MB/s link with a 1 s buffer (a home uplink): LEDBAT must fill the
 * link yet keep the queue near its target delay, leaving room for the user's own traffic,
 * where a loss-based sender would fill the whole buffer.
 */
function bottleneckRun(targetDelayUs: number): { medianQueueMs: number; maxQueueMs: number; mbps: number } {
  const net = new SimNet({ delayMs: 20, bottleneck: { bytesPerMs: 1000, bufferMs: 1000 }, conn: { targetDelayUs } });
  const chunk = Buffer.alloc(16 * 1024);
  let received = 0;
  let receivedAt30 = 0;
  const queue: number[] = [];
  let lastSample = 0;
  net.run(
    () => false,
    60_000,
    () => {
      if (net.aConnected) while (net.a.writableNow) net.a.write(chunk);
      if (net.b) for (let c = net.b.read(); c; c = net.b.read()) received += c.length;
      if (net.now >= 30_000 && receivedAt30 === 0) receivedAt30 = received;
      if (net.now >= 30_000 && net.now - lastSample >= 100) {
        lastSample = net.now;
        queue.push(net.queueDelayMs);
      }
    },
  );
  queue.sort((x, y) => x - y);
  return {
    medianQueueMs: queue[Math.floor(queue.length / 2)]!,
    maxQueueMs: queue.at(-1)!,
    mbps: (received - receivedAt30) / 1e6 / 30,
  };
}

test('LEDBAT through a bottleneck: the link stays full and the queue stays near the target delay', () => {
  const r100 = bottleneckRun(100_000);
  assert.ok(r100.mbps > 0.85, `throughput ${r100.mbps} MB/s of 1 MB/s`);
  assert.ok(r100.medianQueueMs > 50 && r100.medianQueueMs < 150, `median queue ${r100.medianQueueMs} ms (target 100)`);
  assert.ok(r100.maxQueueMs < 400, `max queue ${r100.maxQueueMs} ms of a 1000 ms buffer`);
  const r25 = bottleneckRun(25_000);
  assert.ok(r25.mbps > 0.85, `throughput ${r25.mbps} MB/s at a 25 ms target`);
  assert.ok(r25.medianQueueMs < r100.medianQueueMs / 2, `a lower target, a shorter queue: ${r25.medianQueueMs} vs ${r100.medianQueueMs} ms`);
});
