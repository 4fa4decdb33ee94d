// BEP 12 multitracker: tiers tried in order, trackers within a tier shuffled once and tried in
// order, and the tracker that answers moved to the front of its tier.
import createDebug from 'debug';
import { announce as announceAny } from './announce.js';
import { TrackerError } from './errors.js';
import type { AnnounceParams, AnnounceResult, RequestOptions } from './types.js';

const log = createDebug('pytor:tracker');

export type AnnounceFn = (url: string, params: AnnounceParams, opts?: RequestOptions) => Promise<AnnounceResult>;

export class TrackerTiers {
  private readonly tiers: string[][];

  constructor(
    tiers: readonly (readonly string[])[],
    random: () => number = Math.random,
    private readonly announceOne?: AnnounceFn,
  ) {
    const seen = new Set<string>();
    this.tiers = [];
    for (const tier of tiers) {
      // A URL listed twice would be asked twice; keep its first place only.
      const unique = tier.filter((url) => url && !seen.has(url) && seen.add(url));
      if (unique.length > 0) this.tiers.push(shuffle(unique, random));
    }
  }

  /** Every tracker URL, in the order they would be tried. */
  urls(): string[] {
    return this.tiers.flat();
  }

  /** The tiers, in the order they would be tried (a copy). */
  list(): string[][] {
    return this.tiers.map((t) => [...t]);
  }

  /** Announces to the first tracker that answers, BEP 12 order. Throws ETRACKER_ALL_FAILED otherwise. */
  async announce(params: AnnounceParams, opts: RequestOptions = {}): Promise<{ url: string; result: AnnounceResult }> {
    const errors: TrackerError[] = [];
    const announceOne = this.announceOne ?? announceAny;
    for (const tier of this.tiers) {
      for (let i = 0; i < tier.length; i++) {
        const url = tier[i]!;
        if (opts.signal?.aborted) throw new TrackerError('ETRACKER_ABORTED', url, 'request cancelled');
        try {
          const result = await announceOne(url, params, opts);
          tier.splice(i, 1);
          tier.unshift(url);
          return { url, result };
        } catch (err) {
          const e = err instanceof TrackerError ? err : new TrackerError('ETRACKER_NETWORK', url, String(err));
          log('tier announce to %s failed: %s', url, e.detail);
          errors.push(e);
        }
      }
    }
    const last = errors[errors.length - 1];
    throw new TrackerError(
      'ETRACKER_ALL_FAILED',
      last?.url ?? '(none)',
      errors.length === 0 ? 'no trackers' : `none of ${errors.length} trackers answered (last: ${last?.detail})`,
      errors,
    );
  }
}

/** Fisher-Yates with an injectable random source (tests pass a fixed one). */
export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(random() * (i + 1)));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
