/**
 * Round-trip time and retransmission timeout (BEP 29):
 *   delta = rtt - sample; rtt_var += (|delta| - rtt_var) / 4; rtt += (sample - rtt) / 8
 *   timeout = max(rtt + 4 * rtt_var, 500 ms)
 * Before the first sample the timeout is 1 s. Each timeout without an ack doubles it (capped),
 * the next sample resets the back-off. Pure: times are milliseconds given by the caller.
 */
export const MIN_TIMEOUT_MS = 500;
export const INITIAL_TIMEOUT_MS = 1000;
export const MAX_TIMEOUT_MS = 30_000;

export class RttEstimator {
  /** Smoothed RTT in ms (0 before the first sample). */
  rtt = 0;
  rttVar = 0;
  samples = 0;
  private backoff = 1;

  constructor(private readonly minTimeoutMs = MIN_TIMEOUT_MS) {}

  /** One round-trip sample (ms) from a packet sent once and acked. */
  sample(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    if (this.samples === 0) {
      this.rtt = ms;
      this.rttVar = ms / 2;
    } else {
      const delta = this.rtt - ms;
      this.rttVar += (Math.abs(delta) - this.rttVar) / 4;
      this.rtt += (ms - this.rtt) / 8;
    }
    this.samples++;
    this.backoff = 1;
  }

  /** The retransmission timeout now, in ms. */
  timeout(): number {
    const base = this.samples === 0 ? INITIAL_TIMEOUT_MS : Math.max(this.rtt + 4 * this.rttVar, this.minTimeoutMs);
    return Math.min(base * this.backoff, MAX_TIMEOUT_MS);
  }

  /** A timeout fired: back off exponentially until the next sample. */
  onTimeout(): void {
    if (this.backoff < 64) this.backoff *= 2;
  }
}
