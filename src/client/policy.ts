/**
 * When a torrent's work is done, decided in one place for every front end. Pure.
 */

export interface SeedPolicy {
  /** Keep serving once complete (until a limit below or a stop). */
  readonly keepSeeding: boolean;
  /** Stop once uploaded >= ratio x size (uploads of this run). */
  readonly ratio?: number;
  /** Stop after this long seeding (ms). */
  readonly timeMs?: number;
}

export type FinishReason = 'complete' | 'ratio' | 'time' | 'metadata';

export interface SeedProgress {
  readonly complete: boolean;
  readonly uploaded: number;
  readonly length: number;
  /** When the torrent became complete (or started seeding), ms on the client's clock. */
  readonly seedingSince: number | undefined;
  readonly now: number;
}

/** Why the torrent should stop now, or undefined to go on. */
export function finishReason(policy: SeedPolicy, p: SeedProgress): FinishReason | undefined {
  if (!p.complete) return undefined;
  if (!policy.keepSeeding) return 'complete';
  if (policy.ratio !== undefined && p.uploaded >= policy.ratio * p.length) return 'ratio';
  if (policy.timeMs !== undefined && p.seedingSince !== undefined && p.now - p.seedingSince >= policy.timeMs) return 'time';
  return undefined;
}
