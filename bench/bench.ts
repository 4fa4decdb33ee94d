// `npm run bench`: pytor against real clients, same payload, same machine, same run, on
// 127.0.0.1 only (every client's DHT, LSD, UPnP and NAT-PMP off; pytor gets --no-dht once it
// has one). Each client's output is checked (SHA-256 of downloads; libtorrent verifies what
// it receives when it is the leecher).
//
// DIRECTION (or `-- --direction X`):
//   down   (default) one libtorrent seeder; each of LEECHERS downloads in turn
//   up     each of SEEDERS serves to one python3-libtorrent leecher that connects to it
//   swarm  SWARM_PEERS (default 4) libtorrent seeders to each leecher, and each seeder to
//          SWARM_PEERS libtorrent leechers
//   check  start-up check of existing data against single-core SHA-1 speed
//   all    down, up, swarm and check (and scale with SCALE=1)
//   scale  only the scale table (also the default when SCALE=1 and no DIRECTION)
// SCALE=1 adds the scale table (SIZES, default 256M,1G,4G; PEERS, default 1,10,50 at PEERS_SIZE).
// Env: SIZE (default 1G), RUNS (default 1; medians shown), LEECHERS (default aria2,pytor,libtorrent;
//      also transmission), SEEDERS (default pytor,libtorrent,aria2), TIMEOUT_S per run (600),
//      KEEP=1 keeps downloads, RESULTS_DIR (default bench/results), BENCH_JSON=1 prints JSON,
//      PYTOR_NODE_ARGS node flags for every pytor process (to try e.g. --max-semi-space-size=2).
// MB/s is 10^6 bytes per second. Downloads: the leecher's whole process, spawn to exit.
// Seeding: from starting the leechers to the last one complete, CPU and RSS of the seeder.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopAll } from '../test/interop/harness/process.js';
import { benchCheck, renderCheckTable } from './check.js';
import { benchDownload, LEECHERS, type Leecher } from './download.js';
import { makeFixture, type Fixture } from './fixture.js';
import { report, RESULTS_DIR, type Section } from './report.js';
import { benchScale, renderScaleTable } from './scale.js';
import { fairness, goalLine, medianRun, ratios } from './table.js';
import { benchUpload, SEEDERS, type Seeder } from './upload.js';
import { envInt, envList, fmt, parseSize, pytorLoopbackFlags, pytorNodeArgs, sizeLabel } from './util.js';

export { parseSize } from './util.js';

type Direction = 'down' | 'up' | 'swarm' | 'check' | 'all' | 'scale' | 'utp';
const DIRECTIONS: Direction[] = ['down', 'up', 'swarm', 'check', 'all', 'scale', 'utp'];

function direction(): Direction {
  const i = process.argv.indexOf('--direction');
  const v = (i >= 0 ? process.argv[i + 1] : undefined) ?? process.env.DIRECTION ?? (process.env.SCALE === '1' ? 'scale' : 'down');
  if (!DIRECTIONS.includes(v as Direction)) throw new Error(`DIRECTION: unknown ${v} (known: ${DIRECTIONS.join(', ')})`);
  return v as Direction;
}

function log(s: string): void {
  console.log(`bench: ${s}`);
}

async function main(): Promise<number> {
  const dir = direction();
  // uTP against TCP and against libtorrent's own uTP: its own script (bench/utp.ts, worker threads).
  if (dir === 'utp') return spawnSync(process.execPath, [fileURLToPath(new URL('./utp.js', import.meta.url))], { stdio: 'inherit' }).status ?? 1;
  const size = parseSize(process.env.SIZE ?? '1G');
  const runs = envInt('RUNS', 1, 1, 20);
  const timeoutMs = envInt('TIMEOUT_S', 600, 10, 3600) * 1000;
  const keep = process.env.KEEP === '1';
  const leechers = envList('LEECHERS', 'aria2,pytor,libtorrent') as Leecher[];
  for (const l of leechers) if (!LEECHERS.includes(l)) throw new Error(`LEECHERS: unknown ${l} (known: ${LEECHERS.join(', ')})`);
  const seeders = envList('SEEDERS', 'pytor,libtorrent,aria2') as Seeder[];
  for (const s of seeders) if (!SEEDERS.includes(s)) throw new Error(`SEEDERS: unknown ${s} (known: ${SEEDERS.join(', ')})`);
  const swarmPeers = envInt('SWARM_PEERS', 4, 1, 200);
  const scale = process.env.SCALE === '1' || dir === 'scale';
  const loopFlags = pytorLoopbackFlags('download');
  pytorLoopbackFlags('seed');

  log(`DIRECTION=${dir} SIZE=${sizeLabel(size)} RUNS=${runs}${scale ? ' SCALE=1' : ''}; ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  log(`pytor extra flags: ${loopFlags.length ? loopFlags.join(' ') : '(none: pytor has no DHT to switch off)'}${pytorNodeArgs().length ? `; node flags ${pytorNodeArgs().join(' ')}` : ''}`);
  await mkdir(RESULTS_DIR, { recursive: true });
  const work = await mkdtemp(path.join(tmpdir(), 'pytor-bench-'));
  const sections: Section[] = [];
  const printed: string[] = [];
  const out = (s: string) => {
    printed.push(s);
    console.log(s);
  };
  let fx: Fixture | undefined;
  let allOk = true;
  const noteFailures = (s: Section) => {
    if (s.rows.some((r) => r.ok === 0)) allOk = false;
  };
  try {
    const f = dir === 'scale' ? undefined : await makeFixture(work, size, log);
    fx = f;
    const gib = sizeLabel(size);

    if (f && (dir === 'down' || dir === 'all')) {
      const res = await benchDownload(f, { leechers, seeders: 1, runs, timeoutMs, keep, log });
      const s = await report('down', `Download ${gib} from one libtorrent seeder`, 'leecher', res, { size });
      sections.push(s);
      noteFailures(s);
      out(`\n### Download: ${gib} from one libtorrent seeder (whole leecher process, median of ${runs})\n`);
      out(s.table);
      const p = s.rows.find((r) => r.client === 'pytor');
      const lt = s.rows.find((r) => r.client === 'libtorrent');
      const a2 = s.rows.find((r) => r.client === 'aria2');
      if (p && p.ok > 0) {
        out(goalLine('MB/s >= 1.2x libtorrent', lt && lt.ok ? p.mbps >= 1.2 * lt.mbps : undefined, lt ? `${fmt(p.mbps / lt.mbps, 2)}x` : 'no libtorrent row'));
        out(goalLine(`peak RSS <= 64 MB${size === 2 ** 30 ? '' : ` (stated for 1G; this run ${gib})`}`, p.rssMb <= 64, `${fmt(p.rssMb)} MB`));
        out(goalLine('CPU <= 2.5 s per GiB and below aria2c', p.cpuPerGiB <= 2.5 && (!a2 || !a2.ok || p.cpuPerGiB < a2.cpuPerGiB), `${fmt(p.cpuPerGiB, 2)} s; aria2c ${fmt(a2?.cpuPerGiB ?? NaN, 2)}`));
      }
    }
    if (f && (dir === 'up' || dir === 'all')) {
      const res = await benchUpload(f, { seeders, leechers: 1, runs, timeoutMs, log });
      const s = await report('up', `Seeding ${gib} to one libtorrent leecher`, 'seeder', res, { size });
      sections.push(s);
      noteFailures(s);
      out(`\n### Seeding: ${gib} to one python3-libtorrent leecher (seeder process, median of ${runs})\n`);
      out(s.table);
      const q = ratios(s.rows);
      const p = s.rows.find((r) => r.client === 'pytor');
      if (q && p) {
        out(goalLine('MB/s >= 1.2x the best other seeder', q.mbps >= 1.2, `${fmt(q.mbps, 2)}x`));
        out(goalLine(`peak RSS <= 64 MB${size === 2 ** 30 ? '' : ` (stated for 1G; this run ${gib})`}`, p.rssMb <= 64, `${fmt(p.rssMb)} MB`));
        out(goalLine('CPU per GiB at or below the others', q.cpu <= 1, `${fmt(q.cpu, 2)}x the lowest`));
      }
    }
    if (f && (dir === 'swarm' || dir === 'all')) {
      const down = await benchDownload(f, { leechers, seeders: swarmPeers, runs, timeoutMs, keep, log });
      const sd = await report('swarm-down', `Download ${gib} from ${swarmPeers} libtorrent seeders`, 'leecher', down, { size, peers: swarmPeers });
      const up = await benchUpload(f, { seeders, leechers: swarmPeers, runs, timeoutMs, log });
      const su = await report('swarm-up', `Seeding ${gib} to ${swarmPeers} libtorrent leechers`, 'seeder', up, { size, peers: swarmPeers });
      sections.push(sd, su);
      noteFailures(sd);
      noteFailures(su);
      out(`\n### Swarm: ${gib} from ${swarmPeers} libtorrent seeders (one python process), median of ${runs}\n`);
      out(sd.table);
      out(`\n### Swarm: seeding ${gib} to ${swarmPeers} libtorrent leechers (one python process; MB/s counts all ${swarmPeers} copies), median of ${runs}\n`);
      out(su.table);
      out(`\nFairness between the ${swarmPeers} leechers (median run; 1.00 = every leecher served at the same mean rate):`);
      for (const [seeder, list] of up) {
        const f = fairness(medianRun(list)?.finishSec ?? []);
        out(f ? `- ${seeder}: Jain index ${fmt(f.jain, 3)}, first leecher done at ${fmt(f.firstSec, 2)} s, last at ${fmt(f.lastSec, 2)} s` : `- ${seeder}: no successful run`);
      }
    }
    if (f && (dir === 'check' || dir === 'all')) {
      const { rows, sha1Mbps } = await benchCheck(f, { runs, timeoutMs, log });
      out(`\n### Checking: start-up check of ${gib} already on disk (page cache warm), median of ${runs}\n`);
      out(renderCheckTable(rows, sha1Mbps, size));
      const p = rows.find((r) => r.what === 'pytor seed');
      if (p) out(goalLine('pytor seed check >= 80% of single-core SHA-1', (p.shareOfSha1 ?? 0) >= 0.8, `${fmt(100 * (p.shareOfSha1 ?? NaN), 0)}%`));
      await writeFile(path.join(RESULTS_DIR, 'results-check.json'), JSON.stringify({ key: 'check', at: new Date().toISOString(), size, sha1Mbps, rows }, null, 1) + '\n');
    }
    if (fx) {
      await fx.close();
      fx = undefined;
    }
    if (scale) {
      const sizes = envList('SIZES', '256M,1G,4G').map(parseSize);
      const peers = envList('PEERS', '1,10,50').map((s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`PEERS: ${s} is not 1..200`);
        return n;
      });
      const clients = envList('SCALE_CLIENTS', 'pytor,libtorrent') as Leecher[];
      const peersSize = parseSize(process.env.PEERS_SIZE ?? '1G');
      const rows = await benchScale(work, { sizes, peers, peersSize, clients, runs, timeoutMs, keep, log });
      out(`\n### Scale: download, by payload size (one seeder) and by number of seeders (libtorrent sessions in one python process), median of ${runs}\n`);
      out(renderScaleTable(rows));
      const at1 = rows.find((r) => r.client === 'pytor' && r.case === 'size 1G');
      const at4 = rows.find((r) => r.client === 'pytor' && r.case === 'size 4G');
      if (at1 && at4) out(goalLine('RSS at 4 GiB <= 1.1x RSS at 1 GiB', at4.rssMb <= 1.1 * at1.rssMb, `${fmt(at4.rssMb / at1.rssMb, 2)}x`));
      await writeFile(path.join(RESULTS_DIR, 'results-scale.json'), JSON.stringify({ key: 'scale', at: new Date().toISOString(), rows }, null, 1) + '\n');
    }
  } finally {
    await fx?.close().catch(() => {});
    await stopAll();
    if (!keep) await rm(work, { recursive: true, force: true });
  }
  out(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores shared: compare ratios within one run)`);
  out(`\ncharts and JSON in ${path.relative(process.cwd(), RESULTS_DIR) || '.'}/: ${sections.map((s) => `throughput-${s.key}.svg`).join(', ')}`);
  if (process.env.BENCH_JSON === '1') console.log(JSON.stringify(sections.map((s) => ({ key: s.key, rows: s.rows }))));
  await writeFile(path.join(RESULTS_DIR, `summary-${dir}${scale && dir !== 'scale' ? '-scale' : ''}.md`), printed.join('\n') + '\n');
  // Non-zero if a client never succeeded, so scripts notice; the tables are printed anyway.
  return allOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: Error) => {
    console.error(`bench: ${err.stack ?? err.message}`);
    await stopAll();
    process.exit(2);
  },
);
