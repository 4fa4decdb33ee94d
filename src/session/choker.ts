/**
 * Tit-for-tat choking: every round unchoke the peers that give us the most (while
 * leeching) or take the most (while seeding), plus one optimistic slot that rotates so
 * newcomers get a chance to prove themselves. The slot goes to the peer that has waited
 * longest while choked (as libtorrent does), so a rotation really moves it and no peer
 * waits for luck. Pure: the session supplies rates and time.
 */

export const CHOKE_ROUND_MS = 10_000;
export const OPTIMISTIC_ROUND_MS = 30_000;
export const DEFAULT_UPLOAD_SLOTS = 4;

export interface ChokeCandidate {
  readonly id: string;
  readonly interested: boolean;
  /** Bytes/s the peer sends us (leeching) or we send it (seeding). */
  readonly rate: number;
  /** Since when we have choked it (ms); absent while it is unchoked (it is not waiting). */
  readonly chokedSince?: number;
}

/**
 * Chooses whom to unchoke. `optimistic` is the current optimistic peer (kept if still
 * interested); returns the unchoked ids and the optimistic choice for the next round.
 */
export function chooseUnchoked(
  candidates: readonly ChokeCandidate[],
  slots: number,
  optimistic: string | undefined,
  rotateOptimistic: boolean,
  random: () => number = Math.random,
): { unchoked: Set<string>; optimistic: string | undefined } {
  const interested = candidates.filter((c) => c.interested);
  const byRate = [...interested].sort((a, b) => b.rate - a.rate);
  const unchoked = new Set(byRate.slice(0, slots).map((c) => c.id));
  const others = interested.filter((c) => !unchoked.has(c.id));
  let next = optimistic;
  if (rotateOptimistic || next === undefined || !others.some((c) => c.id === next)) {
    const waiting = longestWaiting(others);
    next = waiting.length > 0 ? waiting[Math.floor(random() * waiting.length)]!.id : undefined;
  }
  if (next !== undefined) unchoked.add(next);
  return { unchoked, optimistic: next };
}

/** The candidates choked the longest (ties kept, in order); all of them when none is choked. */
function longestWaiting(candidates: readonly ChokeCandidate[]): readonly ChokeCandidate[] {
  const since = (c: ChokeCandidate) => c.chokedSince ?? Number.POSITIVE_INFINITY;
  let first = Number.POSITIVE_INFINITY;
  for (const c of candidates) first = Math.min(first, since(c));
  return candidates.filter((c) => since(c) === first);
}
