// DIRECTION=check: how fast each client checks data already on disk at start-up, against the
// machine's single-core SHA-1 speed measured in the same run. The payload is in the page
// cache (just written), so this is hashing speed, not disk speed.
//   sha1-node     node:crypto SHA-1 over 256 KiB pieces of a buffer in memory (one core)
//   sha1-openssl  `openssl dgst -sha1 payload` (one core, reading the file)
//   pytor seed    spawn of `pytor seed` (fresh state folder) until it says it is seeding
//   pytor recheck `pytor download --recheck` of the complete payload, whole process
//   pytor --version: node and the CLI starting, the fixed part of both pytor rows
//   libtorrent    a libtorrent seeder session from start until seeding (python start included)
//   aria2         aria2c --check-integrity until it reports itself a seeder
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { freePort, LOOPBACK } from '../test/interop/harness/ports.js';
import { startLibtorrentSeeder } from '../test/interop/harness/libtorrent.js';
import { startAria2Seeder } from '../test/interop/harness/aria2.js';
import { runMeasured } from '../test/interop/harness/measure.js';
import { NAME, type Fixture } from './fixture.js';
import { procSample } from './proc.js';
import { startPytorSeeder } from './upload.js';
import { fmt, median, PYTOR_BIN, pytorLoopbackFlags } from './util.js';

export interface CheckRow {
  what: string;
  seconds: number;
  mbps: number;
  cpuSec: number;
  rssMb: number;
  /** MB/s as a share of node's SHA-1 MB/s measured in the same run (median over runs). */
  shareOfSha1?: number;
}

/**
 * Single-core SHA-1 speed of node:crypto in MB/s over at least `bytes`: `wall` as timed,
 * `cpu` per CPU second of this process (steadier when other work shares the machine).
 */
export function nodeSha1Mbps(bytes = 1 << 30): { wall: number; cpu: number } {
  const buf = Buffer.alloc(64 << 20, 0xa5);
  for (let i = 0; i < buf.length; i += 4096) buf[i] = i & 0xff;
  const piece = 256 * 1024;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let done = 0;
  while (done < bytes) {
    for (let off = 0; off < buf.length && done < bytes; off += piece, done += piece) createHash('sha1').update(buf.subarray(off, off + piece)).digest();
  }
  const c = process.cpuUsage(c0);
  return { wall: done / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9), cpu: done / (c.user + c.system) };
}

export async function benchCheck(fx: Fixture, opts: { runs: number; timeoutMs: number; log: (s: string) => void }): Promise<{ rows: CheckRow[]; sha1Mbps: number }> {
  const samples = new Map<string, CheckRow[]>();
  const add = (r: CheckRow) => {
    const l = samples.get(r.what) ?? [];
    l.push(r);
    samples.set(r.what, l);
    opts.log(`check ${r.what}: ${fmt(r.seconds, 2)} s, ${fmt(r.mbps)} MB/s, ${fmt(r.cpuSec, 2)} CPU s, ${fmt(r.rssMb)} MB RSS`);
  };
  const size = fx.size;
  const file = path.join(fx.seedDir, NAME);
  for (let run = 1; run <= opts.runs; run++) {
    const sha = nodeSha1Mbps(Math.min(size, 1 << 30));
    const mb = sha.wall;
    // Each row's share is taken against this run's SHA-1 speed: the machine is shared, and
    // a busy neighbour slows both alike.
    const addRun = (r: CheckRow) => add({ ...r, shareOfSha1: r.mbps / mb });
    add({ what: 'sha1-node', seconds: size / 1e6 / mb, mbps: mb, cpuSec: size / 1e6 / sha.cpu, rssMb: NaN, shareOfSha1: 1 });
    const o = await runMeasured({ cmd: 'openssl', args: ['dgst', '-sha1', file], timeoutMs: opts.timeoutMs });
    if (o.code === 0) addRun({ what: 'sha1-openssl', seconds: o.wallSec, mbps: size / 1e6 / o.wallSec, cpuSec: o.cpuSec, rssMb: o.peakRssKb / 1024 });

    // The fixed cost in both pytor rows: node starting and loading the CLI.
    const v = await runMeasured({ cmd: process.execPath, args: [PYTOR_BIN, '--version'], timeoutMs: 60_000 });
    if (v.code === 0) addRun({ what: 'pytor --version (start-up only)', seconds: v.wallSec, mbps: NaN, cpuSec: v.cpuSec, rssMb: v.peakRssKb / 1024 });

    const state = fx.scratch('check-state');
    const seed = await startPytorSeeder(fx, opts.timeoutMs, state);
    const ps = procSample(seed.pid);
    await seed.stop();
    addRun({ what: 'pytor seed', seconds: seed.readySec, mbps: size / 1e6 / seed.readySec, cpuSec: ps?.cpuSec ?? NaN, rssMb: (ps?.hwmKb ?? NaN) / 1024 });

    const r = await runMeasured({
      cmd: process.execPath,
      // A peer that is never there (port 1, loopback): download wants one, and exits once the
      // check finds every piece.
      args: [PYTOR_BIN, 'download', fx.torrentFile, '-o', fx.seedDir, '--recheck', '--no-trackers', '--peer', `${LOOPBACK}:1`, '--bind', LOOPBACK, '--port', String(await freePort('tcp')), '--state-dir', state, '--json', ...pytorLoopbackFlags('download')],
      timeoutMs: opts.timeoutMs,
    });
    let complete = false;
    try {
      complete = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { complete?: boolean }).complete === true;
    } catch {
      /* not JSON: reported below */
    }
    if (r.code === 0 && complete) addRun({ what: 'pytor recheck', seconds: r.wallSec, mbps: size / 1e6 / r.wallSec, cpuSec: r.cpuSec, rssMb: r.peakRssKb / 1024 });
    else opts.log(`check pytor recheck FAILED (exit ${r.code ?? r.signal}): ${(r.stderr || r.stdout).slice(-800)}`);
    await rm(state, { recursive: true, force: true });

    let t0 = Date.now();
    const lt = await startLibtorrentSeeder({ torrentFile: fx.torrentFile, dataDir: fx.seedDir, port: await freePort('both'), readyTimeoutMs: opts.timeoutMs });
    let sec = (Date.now() - t0) / 1000;
    const ls = procSample(lt.proc.pid);
    await lt.stop();
    addRun({ what: 'libtorrent', seconds: sec, mbps: size / 1e6 / sec, cpuSec: ls?.cpuSec ?? NaN, rssMb: (ls?.hwmKb ?? NaN) / 1024 });

    t0 = Date.now();
    const a = await startAria2Seeder({ torrentFile: fx.torrentFile, dataDir: fx.seedDir, port: await freePort('both') });
    sec = (Date.now() - t0) / 1000;
    const as = procSample(a.proc.pid);
    await a.stop();
    addRun({ what: 'aria2', seconds: sec, mbps: size / 1e6 / sec, cpuSec: as?.cpuSec ?? NaN, rssMb: (as?.hwmKb ?? NaN) / 1024 });
  }
  const rows = [...samples.entries()].map(([what, l]) => ({
    what,
    seconds: median(l.map((x) => x.seconds)),
    mbps: median(l.map((x) => x.mbps)),
    cpuSec: median(l.map((x) => x.cpuSec)),
    rssMb: median(l.map((x) => x.rssMb)),
    shareOfSha1: median(l.map((x) => x.shareOfSha1 ?? NaN)),
  }));
  return { rows, sha1Mbps: rows.find((r) => r.what === 'sha1-node')?.mbps ?? NaN };
}

export function renderCheckTable(rows: CheckRow[], sha1Mbps: number, size: number): string {
  const out = [
    `| check of ${fmt(size / 2 ** 20, 0)} MiB | seconds | MB/s | % of node SHA-1 (1 core, same run) | CPU s | MB per CPU s | peak RSS MB |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(`| ${r.what} | ${fmt(r.seconds, 2)} | ${fmt(r.mbps)} | ${fmt(100 * (r.shareOfSha1 ?? NaN), 0)}% | ${fmt(r.cpuSec, 2)} | ${Number.isFinite(r.mbps) ? fmt(size / 1e6 / r.cpuSec, 0) : '-'} | ${fmt(r.rssMb)} |`);
  }
  out.push('', `node SHA-1 on one core: ${fmt(sha1Mbps, 0)} MB/s (median); start-up rows include node starting (see the --version row).`);
  return out.join('\n');
}
