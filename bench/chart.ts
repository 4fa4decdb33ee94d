// A small hand-written SVG line chart of throughput over time, one line per client.
// The rate at each sample is taken over the last second (samples come every ~250 ms), so a
// line shows the steady rate, ramp-up and tail, not per-sample noise.

export interface ChartSeries {
  name: string;
  /** Cumulative bytes, [seconds since start, bytes]. */
  points: [number, number][];
}

const COLORS: Record<string, string> = { pytor: '#d62728', libtorrent: '#1f77b4', aria2: '#2ca02c', transmission: '#9467bd' };
const SPARE = ['#ff7f0e', '#8c564b', '#e377c2', '#7f7f7f', '#17becf'];

/** [seconds, MB/s] from cumulative [seconds, bytes], each rate over a window of `windowSec`. */
export function ratesOf(points: [number, number][], windowSec = 1): [number, number][] {
  const pts: [number, number][] = [[0, 0], ...points.filter(([t]) => t > 0)];
  const out: [number, number][] = [[0, 0]];
  let j = 0;
  for (let i = 1; i < pts.length; i++) {
    const [ti, bi] = pts[i] as [number, number];
    while (j < i - 1 && ti - (pts[j + 1] as [number, number])[0] >= windowSec) j++;
    const [tj, bj] = pts[j] as [number, number];
    if (ti > tj) out.push([ti, Math.max(0, (bi - bj) / 1e6 / (ti - tj))]);
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** A "nice" axis top: 1, 2 or 5 times a power of ten, at least `v`. */
function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * `series` are cumulative bytes, drawn as MB/s; with `raw`, points are drawn as they are
 * (e.g. RSS in MB) under `yLabel`.
 */
export function renderChart(title: string, series: ChartSeries[], opts: { width?: number; height?: number; raw?: boolean; yLabel?: string } = {}): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 360;
  const L = 60;
  const R = 150;
  const T = 36;
  const B = 44;
  const lines = series.map((s) => ({ name: s.name, rates: opts.raw ? s.points : ratesOf(s.points) }));
  const tMax = niceCeil(Math.max(1, ...lines.flatMap((l) => l.rates.map(([t]) => t))));
  const yMax = niceCeil(Math.max(1, ...lines.flatMap((l) => l.rates.map(([, r]) => r))));
  const x = (t: number) => L + ((W - L - R) * t) / tMax;
  const y = (r: number) => H - B - ((H - T - B) * r) / yMax;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${L}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(1)}</text>`);
    const t = (tMax * i) / 5;
    parts.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${+t.toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#000"/>`);
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#000"/>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">seconds</text>`);
  parts.push(`<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(opts.yLabel ?? 'MB/s (1 s window)')}</text>`);
  lines.forEach((l, i) => {
    const color = COLORS[l.name] ?? SPARE[i % SPARE.length] ?? '#000';
    const d = l.rates.map(([t, r]) => `${x(t).toFixed(1)},${y(r).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="${l.name === 'pytor' ? 2.5 : 1.5}" points="${d}"/>`);
    const ly = T + 10 + i * 18;
    parts.push(`<line x1="${W - R + 12}" x2="${W - R + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`);
    parts.push(`<text x="${W - R + 38}" y="${ly + 4}">${esc(l.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
