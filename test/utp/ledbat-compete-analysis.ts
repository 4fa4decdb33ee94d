// Pure part of test/interop/utp-ledbat-tcp.test.ts: the receiver's per-interval byte counts
// and the sender's marks (both Date.now() on one host) turned into throughput per phase.
export interface Sample {
  /** End of the interval, ms (Date.now()). */
  t: number;
  utp: number;
  tcp: number;
}

export interface Marks {
  'utp-start': number;
  'tcp-start': number;
  'tcp-stop': number;
  end: number;
}

export interface Rates {
  /** MB/s (1e6 bytes) over the window. */
  utp: number;
  tcp: number;
  /** Samples in the window (0 means the window was empty: rates are NaN). */
  samples: number;
}

export interface PhaseRates {
  /** uTP alone, after its start-up. */
  alone: Rates;
  /** The first seconds after TCP started (how fast uTP gives way). */
  early: Rates;
  /** The later part of the competition (where LEDBAT has settled). */
  competing: Rates;
  /** TCP gone, uTP alone again. */
  recovered: Rates;
}

/** Parses the JSON lines of the two scripts; lines that are not samples or marks are skipped. */
export function parseRun(rxOut: string, txOut: string): { samples: Sample[]; marks: Partial<Marks> } {
  const samples: Sample[] = [];
  for (const line of rxOut.split('\n')) {
    const o = tryJson(line);
    if (o && typeof o.t === 'number' && typeof o.utp === 'number' && typeof o.tcp === 'number') samples.push({ t: o.t, utp: o.utp, tcp: o.tcp });
  }
  const marks: Partial<Marks> = {};
  for (const line of txOut.split('\n')) {
    const o = tryJson(line);
    if (o && typeof o.mark === 'string' && typeof o.t === 'number') (marks as Record<string, number>)[o.mark] = o.t;
  }
  return { samples, marks };
}

function tryJson(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Mean rates over the samples whose interval ends in (from, to]; intervalMs is each sample's length. */
export function ratesBetween(samples: readonly Sample[], from: number, to: number, intervalMs: number): Rates {
  const inWindow = samples.filter((s) => s.t - intervalMs >= from && s.t <= to);
  const seconds = (inWindow.length * intervalMs) / 1000;
  const sum = (k: 'utp' | 'tcp') => inWindow.reduce((a, s) => a + s[k], 0);
  return { utp: sum('utp') / 1e6 / seconds, tcp: sum('tcp') / 1e6 / seconds, samples: inWindow.length };
}

/**
 * The four windows: uTP alone from `settleMs` after its start to TCP's start ("alone"); the
 * first half of the competition ("early"); its second half ("competing"); and from `settleMs`
 * after TCP stopped to the end ("recovered").
 */
export function phaseRates(samples: readonly Sample[], m: Marks, settleMs: number, intervalMs: number): PhaseRates {
  const mid = m['tcp-start'] + (m['tcp-stop'] - m['tcp-start']) / 2;
  return {
    alone: ratesBetween(samples, m['utp-start'] + settleMs, m['tcp-start'], intervalMs),
    early: ratesBetween(samples, m['tcp-start'], mid, intervalMs),
    competing: ratesBetween(samples, mid, m['tcp-stop'], intervalMs),
    recovered: ratesBetween(samples, m['tcp-stop'] + settleMs, m.end, intervalMs),
  };
}
