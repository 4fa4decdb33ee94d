import createDebug from 'debug';
import type { AnnounceParams, TrackerPeer, TrackerTiers } from '../tracker/index.js';

const log = createDebug('pytor:session');

/** Bounds on how often we announce, whatever the tracker says. */
const MIN_INTERVAL_S = 30;
const MAX_INTERVAL_S = 3600;
const RETRY_FIRST_S = 15;
const NUMWANT = 200;

export interface AnnouncerHooks {
  /** The current counters (uploaded, downloaded, left). */
  counters(): Pick<AnnounceParams, 'uploaded' | 'downloaded' | 'left'>;
  onPeers(peers: readonly TrackerPeer[], url: string): void;
  onError(message: string): void;
}

/**
 * Talks to a torrent's trackers over its life: `started`, re-announces by the tracker's
 * interval (with backoff while none answers), `completed` once, `stopped` at the end.
 */
export class Announcer {
  private timer: NodeJS.Timeout | undefined;
  private retryS = RETRY_FIRST_S;
  private stopped = false;
  private inflight: Promise<void> | undefined;
  private inflightEvent: AnnounceParams['event'];
  private completedPending = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly tiers: TrackerTiers,
    private readonly base: Pick<AnnounceParams, 'infoHash' | 'peerId' | 'port' | 'key'>,
    private readonly hooks: AnnouncerHooks,
  ) {}

  /** How many trackers there are to ask. */
  get trackerCount(): number {
    return this.tiers.urls().length;
  }

  get hasTrackers(): boolean {
    return this.tiers.urls().length > 0;
  }

  start(): void {
    this.announce('started');
  }

  /**
   * Says `completed` once. While another announce is in flight (say `started`), it goes out
   * when that one settles: one request at a time, and one re-announce timer, never two.
   */
  completed(): void {
    if (this.stopped) return;
    if (this.inflight) this.completedPending = true;
    else this.announce('completed');
  }

  /**
   * Sends `stopped` (bounded by timeoutMs) and ends all timers. A `completed` still in flight
   * or queued goes first, bounded the same way: it is what counts the download at the tracker,
   * and a download that ends the program stops right after completing.
   */
  async stop(timeoutMs = 3000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.inflightEvent === 'completed') await this.settleWithin(this.inflight, timeoutMs);
    this.abort.abort();
    await this.inflight?.catch(() => undefined);
    if (!this.hasTrackers) return;
    if (this.completedPending) {
      this.completedPending = false;
      await this.announceWithin('completed', timeoutMs);
    }
    await this.announceWithin('stopped', timeoutMs);
  }

  /** One announce of the shutdown, bounded by timeoutMs; a failure is only logged. */
  private async announceWithin(event: 'completed' | 'stopped', timeoutMs: number): Promise<void> {
    try {
      await this.tiers.announce(this.params(event), { timeoutMs });
    } catch (err) {
      log('%s announce failed: %s', event, (err as Error).message);
    }
  }

  /** Waits for `p` to settle, or `ms`, whichever comes first. */
  private async settleWithin(p: Promise<void> | undefined, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p?.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  private params(event: AnnounceParams['event']): AnnounceParams {
    return { ...this.base, ...this.hooks.counters(), event, numwant: event === 'stopped' ? 0 : NUMWANT };
  }

  private announce(event: AnnounceParams['event']): void {
    if (this.stopped || !this.hasTrackers) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inflightEvent = event;
    const run = this.tiers.announce(this.params(event), { signal: this.abort.signal }).then(
      ({ url, result }) => {
        this.retryS = RETRY_FIRST_S;
        log('%s answered: %d peers, interval %d s', url, result.peers.length, result.interval);
        if (result.warning) this.hooks.onError(`tracker ${url}: ${result.warning}`);
        this.hooks.onPeers(result.peers, url);
        const interval = Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_S, result.minInterval ?? 0, result.interval));
        this.schedule(interval);
      },
      (err: Error) => {
        if (this.stopped) return;
        this.hooks.onError(err.message);
        this.schedule(this.retryS);
        this.retryS = Math.min(MAX_INTERVAL_S, this.retryS * 2);
      },
    );
    this.inflight = run.finally(() => {
      if (this.inflight !== settled) return;
      this.inflight = undefined;
      if (this.completedPending && !this.stopped) {
        this.completedPending = false;
        this.announce('completed');
      }
    });
    const settled = this.inflight;
  }

  private schedule(seconds: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.announce(undefined), seconds * 1000);
  }
}
