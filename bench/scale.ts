// SCALE=1: how pytor's time, memory and CPU grow with the payload (SIZES, default
// 256M,1G,4G; one libtorrent seeder) and with the number of peers (PEERS, default 1,10,50:
// that many libtorrent seeder sessions in ONE python process, each on its own port, every
// one given to the leecher with --peer; PEERS_SIZE payload, default 1G). Each row is the
// median of RUNS; other clients (SCALE_CLIENTS, default pytor,libtorrent) give the ratios.
import { benchDownload, type Leecher } from './download.js';
import { makeFixture } from './fixture.js';
import { summarize, type Row } from './table.js';
import { startPytorSeeder } from './upload.js';
import { fmt, median, parseSize, sizeLabel } from './util.js';
import { rm } from 'node:fs/promises';

export interface ScaleRow extends Row {
  case: string;
  /** pytor rows by size: seconds of `pytor seed`'s start-up check of the payload (median). */
  checkSec?: number;
}

export async function benchScale(
  work: string,
  opts: { sizes: number[]; peers: number[]; peersSize: number; clients: Leecher[]; runs: number; timeoutMs: number; keep: boolean; log: (s: string) => void },
): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const size of opts.sizes) {
    const fx = await makeFixture(work, size, opts.log);
    try {
      const res = await benchDownload(fx, { leechers: opts.clients, seeders: 1, runs: opts.runs, timeoutMs: opts.timeoutMs, keep: opts.keep, log: opts.log });
      const checks: number[] = [];
      for (let i = 0; i < opts.runs; i++) {
        const state = fx.scratch('scale-check-state');
        const seed = await startPytorSeeder(fx, opts.timeoutMs, state);
        checks.push(seed.readySec);
        await seed.stop();
        await rm(state, { recursive: true, force: true });
      }
      opts.log(`pytor seed check of ${sizeLabel(size)}: ${checks.map((c) => fmt(c, 2)).join(', ')} s`);
      for (const [c, l] of res) rows.push({ case: `size ${sizeLabel(size)}`, ...summarize(c, l), ...(c === 'pytor' ? { checkSec: median(checks) } : {}) });
    } finally {
      await fx.close();
    }
  }
  if (opts.peers.length > 0) {
    const fx = await makeFixture(work, opts.peersSize, opts.log);
    try {
      for (const n of opts.peers) {
        const res = await benchDownload(fx, { leechers: opts.clients, seeders: n, runs: opts.runs, timeoutMs: opts.timeoutMs, keep: opts.keep, log: opts.log });
        for (const [c, l] of res) rows.push({ case: `${sizeLabel(opts.peersSize)} from ${n} seeder${n === 1 ? '' : 's'}`, ...summarize(c, l) });
      }
    } finally {
      await fx.close();
    }
  }
  return rows;
}

/** One row per case and client; pytor's RSS against its own 1 GiB row, MB/s against the best other in that case. */
export function renderScaleTable(rows: ScaleRow[]): string {
  const ref = rows.find((r) => r.client === 'pytor' && r.case === 'size 1G');
  const out = [
    '| case | client | MB/s | wall s | peak RSS MB | CPU s per GiB | pytor MB/s ÷ best other | RSS ÷ pytor at 1G | pytor seed check s (MB/s) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const others = rows.filter((o) => o.case === r.case && o.client !== 'pytor' && o.ok > 0);
    const best = Math.max(...others.map((o) => o.mbps));
    const vsBest = r.client === 'pytor' && others.length > 0 ? fmt(r.mbps / best, 2) : '';
    const vsRef = r.client === 'pytor' && ref ? fmt(r.rssMb / ref.rssMb, 2) : '';
    const check = r.checkSec !== undefined ? `${fmt(r.checkSec, 2)} (${fmt(sizeOfCase(r.case) / 1e6 / r.checkSec, 0)})` : '';
    out.push(`| ${r.case} | ${r.client} | ${fmt(r.mbps)} | ${fmt(r.wallSec, 2)} | ${fmt(r.rssMb)} | ${fmt(r.cpuPerGiB, 2)} | ${vsBest} | ${vsRef} | ${check} |`);
  }
  return out.join('\n');
}

function sizeOfCase(c: string): number {
  const m = /^size (\S+)$/.exec(c);
  return m ? parseSize(m[1]!) : NaN;
}
