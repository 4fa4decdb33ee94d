// Turns one direction's results into what `npm run bench` prints and keeps: the table, the
// goal lines, a throughput chart (SVG) and a results JSON under bench/results/.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderChart, type ChartSeries } from './chart.js';
import { medianRun, renderTable, summarize, type Row, type RunResult } from './table.js';

export const RESULTS_DIR = path.resolve(process.env.RESULTS_DIR ?? path.join(process.cwd(), 'bench', 'results'));

export interface Section {
  /** File name part: throughput-<key>.svg, results-<key>.json. */
  key: string;
  title: string;
  role: string;
  rows: Row[];
  table: string;
}

/** Medians per client, the table, and the chart of each client's median run. */
export async function report(key: string, title: string, role: string, results: Map<string, RunResult[]>, extra: Record<string, unknown> = {}): Promise<Section> {
  const rows = [...results.entries()].map(([client, list]) => summarize(client, list));
  const table = renderTable(rows, { role });
  const series: ChartSeries[] = [];
  const rss: ChartSeries[] = [];
  for (const [client, list] of results) {
    const m = medianRun(list);
    if (m && m.series.length > 1) series.push({ name: client, points: m.series });
    if (m?.rssSeries && m.rssSeries.length > 1) rss.push({ name: client, points: m.rssSeries });
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  if (series.length > 0) await writeFile(path.join(RESULTS_DIR, `throughput-${key}.svg`), renderChart(`${title}: throughput (median run)`, series));
  if (rss.length > 0) await writeFile(path.join(RESULTS_DIR, `rss-${key}.svg`), renderChart(`${title}: RSS (median run)`, rss, { raw: true, yLabel: 'RSS MB' }));
  const json = {
    key,
    title,
    at: new Date().toISOString(),
    rows,
    ...extra,
    runs: Object.fromEntries([...results].map(([c, l]) => [c, l.map((r) => ({ ok: r.ok, why: r.why, wallSec: r.wallSec, cpuSec: r.cpuSec, peakRssKb: r.peakRssKb, bytes: r.bytes }))])),
    series: Object.fromEntries(series.map((s) => [s.name, s.points.map(([t, b]) => [Math.round(t * 1000) / 1000, b])])),
  };
  await writeFile(path.join(RESULTS_DIR, `results-${key}.json`), JSON.stringify(json, null, 1) + '\n');
  return { key, title, role, rows, table };
}
