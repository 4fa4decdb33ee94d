/**
 * LEDBAT congestion control (RFC 6817) as uTP uses it (BEP 29). Pure: the connection tells it
 * what was acked, the one-way delay the other side measured, losses and timeouts; it answers
 * with the congestion window in bytes. No clock of its own: `now` is milliseconds from the caller.
 *
 * - Base delay: minimum one-way delay over BASE_HISTORY one-minute buckets (a rolling 10 min),
 *   so a clock offset between the hosts cancels out and only queueing remains.
 * - Queueing delay: the smallest of the last few samples (RFC's CURRENT_FILTER) minus base.
 * - Window: cwnd += GAIN * off_target * bytes_acked * MSS / cwnd, off_target = (TARGET - qd) / TARGET,
 *   so it grows by at most GAIN*MSS per RTT below the target; it grows only while the window is
 *   what limits the sender (an application-limited sender does not grow).
 * - Above the target it shrinks by off_target * DECREASE_BYTES_PER_RTT per RTT instead: the
 *   3000 bytes per RTT of uTP's reference implementation (libutp), 2.5 times RFC 6817's 1 MSS
 *   of 1200 bytes. RFC 6817 caps GAIN for the sake of ramp-up (no faster than TCP), and that cap
 *   stays; giving way faster is always on the safe side for a background transport. Measured at
 *   a real bloated bottleneck (test/interop/utp-ledbat-tcp.test.ts), 1 MSS per RTT left uTP a
 *   third of the link for over ten seconds beside a TCP upload, since a queue TCP holds at
 *   twice the target takes only 1 MSS per RTT off a ~100 kB window.
 * - Loss (fast retransmit): halve, at most once per RTT. Timeout: one packet.
 * - Slow start (RFC 6817 allows it): double per RTT until the first loss or until queueing
 *   delay reaches half the target.
 * Delay samples are microsecond timestamps modulo 2^32 and compared with wrap-around.
 */
export const TARGET_DELAY_US = 100_000;
export const BASE_HISTORY = 10;
export const CURRENT_FILTER = 4;
export const GAIN = 1;
/** Bytes per RTT the window shrinks by at twice the target delay (off_target = -1). */
export const DECREASE_BYTES_PER_RTT = 3000;
export const MIN_CWND_PACKETS = 2;

export interface LedbatOptions {
  /** Maximum segment (payload) size in bytes. */
  mss: number;
  /** Upper bound on the window (bytes), e.g. the send buffer. */
  maxWindow: number;
  targetDelayUs?: number;
  /** Start in slow start (default true). */
  slowStart?: boolean;
}

/** a - b as a signed 32-bit number: the ordering of two u32 timestamps that may wrap. */
export function u32Diff(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

export class Ledbat {
  cwnd: number;
  readonly mss: number;
  readonly maxWindow: number;
  readonly target: number;
  slowStart: boolean;
  /** Minimum per minute, newest last. */
  private baseBuckets: number[] = [];
  private bucketStart = -Infinity;
  private recent: number[] = [];
  private lastLossAt = -Infinity;
  /** Loss events that halved the window, and timeouts (for stats). */
  losses = 0;
  timeouts = 0;

  constructor(opts: LedbatOptions) {
    this.mss = opts.mss;
    this.maxWindow = Math.max(opts.maxWindow, MIN_CWND_PACKETS * opts.mss);
    this.target = opts.targetDelayUs ?? TARGET_DELAY_US;
    this.slowStart = opts.slowStart ?? true;
    this.cwnd = MIN_CWND_PACKETS * opts.mss;
  }

  get minWindow(): number {
    return MIN_CWND_PACKETS * this.mss;
  }

  /** The base delay (µs, modulo 2^32) or null before any sample. */
  baseDelay(): number | null {
    let base: number | null = null;
    for (const b of this.baseBuckets) if (base === null || u32Diff(b, base) < 0) base = b;
    return base;
  }

  /** Queueing delay in µs (0 before any sample). */
  queuingDelay(): number {
    const base = this.baseDelay();
    if (base === null || this.recent.length === 0) return 0;
    let cur = this.recent[0]!;
    for (const s of this.recent) if (u32Diff(s, cur) < 0) cur = s;
    return Math.max(0, u32Diff(cur, base));
  }

  /** A one-way delay sample in µs (the other side's timestamp_difference). */
  addDelaySample(now: number, delayUs: number): void {
    const d = delayUs >>> 0;
    if (now - this.bucketStart >= 60_000 || this.baseBuckets.length === 0) {
      this.bucketStart = now;
      this.baseBuckets.push(d);
      if (this.baseBuckets.length > BASE_HISTORY) this.baseBuckets.shift();
    } else {
      const last = this.baseBuckets.length - 1;
      if (u32Diff(d, this.baseBuckets[last]!) < 0) this.baseBuckets[last] = d;
    }
    this.recent.push(d);
    if (this.recent.length > CURRENT_FILTER) this.recent.shift();
  }

  /**
   * Bytes newly acked. `windowLimited`: the sender had data it could not send for the window
   * since the last ack. Only then may the window grow (RFC 6817 2.4.1: an application-limited
   * flow must not inflate cwnd); it may always shrink. Call addDelaySample first.
   */
  onAck(bytesAcked: number, windowLimited: boolean): void {
    if (bytesAcked <= 0) return;
    const qd = this.queuingDelay();
    let delta: number;
    if (this.slowStart && qd > this.target / 2) this.slowStart = false;
    if (this.slowStart) {
      delta = bytesAcked;
    } else {
      const offTarget = (this.target - qd) / this.target;
      const perRtt = offTarget >= 0 ? GAIN * this.mss : Math.max(GAIN * this.mss, DECREASE_BYTES_PER_RTT);
      delta = (offTarget * bytesAcked * perRtt) / this.cwnd;
    }
    if (delta > 0 && !windowLimited) delta = 0;
    this.cwnd += delta;
    this.clamp();
  }

  /** A packet was lost (duplicate acks / selective ack). Halves at most once per `rttMs`. */
  onLoss(now: number, rttMs: number): void {
    this.slowStart = false;
    if (now - this.lastLossAt < Math.max(rttMs, 1)) return;
    this.lastLossAt = now;
    this.losses++;
    this.cwnd = this.cwnd / 2;
    this.clamp();
  }

  /** A retransmission timeout: back to one packet (RFC 6817 section 2.4.2). */
  onTimeout(): void {
    this.timeouts++;
    this.slowStart = false;
    this.cwnd = this.mss;
  }

  private clamp(): void {
    if (this.cwnd < this.minWindow) this.cwnd = this.minWindow;
    if (this.cwnd > this.maxWindow) this.cwnd = this.maxWindow;
  }
}
