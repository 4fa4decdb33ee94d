// Run results, their medians, and the markdown tables `npm run bench` prints: one row per
// client, then pytor's ratios against the best of the others.
import { fmt, median } from './util.js';

/** One timed transfer by one client. */
export interface RunResult {
  ok: boolean;
  why?: string;
  wallSec: number;
  /** CPU seconds of the measured process over the timed span. */
  cpuSec: number;
  peakRssKb: number;
  /** Payload bytes moved in the timed span (size x peers for a swarm). */
  bytes: number;
  /** Cumulative bytes moved, [seconds since the timed span began, bytes]. */
  series: [number, number][];
  /** RSS of the measured process over time, [seconds, MB] (where sampled). */
  rssSeries?: [number, number][];
  /** Seeding to several leechers: the second at which each leecher had every piece. */
  finishSec?: number[];
}

export interface Fairness {
  /** Jain's index over the leechers' mean rates: 1 when equal, 1/n when one got everything. */
  jain: number;
  firstSec: number;
  lastSec: number;
}

/**
 * How evenly a seeder served its leechers, from when each finished (each got the same bytes,
 * so its mean rate is size / finish time).
 */
export function fairness(finishSec: readonly number[]): Fairness | undefined {
  if (finishSec.length === 0 || finishSec.some((t) => !(t > 0))) return undefined;
  const rates = finishSec.map((t) => 1 / t);
  const sum = rates.reduce((a, b) => a + b, 0);
  const squares = rates.reduce((a, b) => a + b * b, 0);
  return { jain: (sum * sum) / (rates.length * squares), firstSec: Math.min(...finishSec), lastSec: Math.max(...finishSec) };
}

export interface Row {
  client: string;
  ok: number;
  runs: number;
  mbps: number;
  wallSec: number;
  rssMb: number;
  cpuPerGiB: number;
}

export function summarize(client: string, results: RunResult[]): Row {
  const good = results.filter((r) => r.ok);
  const wallSec = median(good.map((r) => r.wallSec));
  return {
    client,
    ok: good.length,
    runs: results.length,
    wallSec,
    mbps: median(good.map((r) => r.bytes / 1e6 / r.wallSec)),
    rssMb: median(good.map((r) => r.peakRssKb)) / 1024,
    cpuPerGiB: median(good.map((r) => r.cpuSec / (r.bytes / 2 ** 30))),
  };
}

/** The run whose wall time is the median of the good ones (for the chart). */
export function medianRun(results: RunResult[]): RunResult | undefined {
  const good = results.filter((r) => r.ok).sort((a, b) => a.wallSec - b.wallSec);
  return good[Math.floor((good.length - 1) / 2)];
}

export interface Ratios {
  /** pytor MB/s / the best other's MB/s (higher is better). */
  mbps: number;
  bestMbps?: Row;
  /** pytor peak RSS / the lowest other's (lower is better). */
  rss: number;
  lowRss?: Row;
  /** pytor CPU per GiB / the lowest other's (lower is better). */
  cpu: number;
  lowCpu?: Row;
}

export function ratios(rows: Row[], self = 'pytor'): Ratios | undefined {
  const p = rows.find((r) => r.client === self && r.ok > 0);
  const others = rows.filter((r) => r.client !== self && r.ok > 0);
  if (!p || others.length === 0) return undefined;
  const pick = (key: 'mbps' | 'rssMb' | 'cpuPerGiB', best: 'max' | 'min') =>
    others.filter((r) => Number.isFinite(r[key])).sort((a, b) => (best === 'max' ? b[key] - a[key] : a[key] - b[key]))[0];
  const bestMbps = pick('mbps', 'max');
  const lowRss = pick('rssMb', 'min');
  const lowCpu = pick('cpuPerGiB', 'min');
  return {
    mbps: bestMbps ? p.mbps / bestMbps.mbps : NaN,
    bestMbps,
    rss: lowRss ? p.rssMb / lowRss.rssMb : NaN,
    lowRss,
    cpu: lowCpu ? p.cpuPerGiB / lowCpu.cpuPerGiB : NaN,
    lowCpu,
  };
}

/**
 * A markdown table: one row per client with its ratios to pytor's row ("x pytor": this
 * client's value divided by pytor's), then one line of pytor against the best other.
 */
export function renderTable(rows: Row[], opts: { role: string; self?: string }): string {
  const self = opts.self ?? 'pytor';
  const p = rows.find((r) => r.client === self && r.ok > 0);
  const out = [
    `| ${opts.role} | ok runs | MB/s | wall s | peak RSS MB | CPU s per GiB | MB/s ÷ pytor | RSS ÷ pytor | CPU ÷ pytor |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const rel = (a: number, b: number | undefined) => (p && b !== undefined ? fmt(a / b, 2) : '-');
    out.push(
      `| ${r.client} | ${r.ok}/${r.runs} | ${fmt(r.mbps)} | ${fmt(r.wallSec, 2)} | ${fmt(r.rssMb)} | ${fmt(r.cpuPerGiB, 2)} | ` +
        `${rel(r.mbps, p?.mbps)} | ${rel(r.rssMb, p?.rssMb)} | ${rel(r.cpuPerGiB, p?.cpuPerGiB)} |`,
    );
  }
  const q = ratios(rows, self);
  out.push('');
  if (q) {
    out.push(
      `${self} vs the best other: MB/s ${fmt(q.mbps, 2)}x (best ${q.bestMbps?.client} ${fmt(q.bestMbps?.mbps ?? NaN)}), ` +
        `peak RSS ${fmt(q.rss, 2)}x (lowest ${q.lowRss?.client} ${fmt(q.lowRss?.rssMb ?? NaN)} MB), ` +
        `CPU per GiB ${fmt(q.cpu, 2)}x (lowest ${q.lowCpu?.client} ${fmt(q.lowCpu?.cpuPerGiB ?? NaN, 2)} s)`,
    );
  } else {
    out.push(`${self} vs the best other: no ratio (a side had no successful run)`);
  }
  return out.join('\n');
}

/** "goal: … PASS|MISS (value)" lines, so a reader sees the targets next to the numbers. */
export function goalLine(what: string, ok: boolean | undefined, value: string): string {
  return `goal: ${what}: ${ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS'} (${value})`;
}
