// DIRECTION=up (and the seeding half of swarm): each seeder (pytor `seed`, libtorrent, aria2c)
// serves the payload to `leechers` python3-libtorrent sessions that connect straight to it
// on 127.0.0.1. A fresh seeder process per run checks its data first (not timed); the timed
// span runs from starting the leechers to the last one completing. Measured on the SEEDER:
// CPU seconds over the span (/proc), peak RSS (VmHWM, whole life), and throughput over time
// as the leechers' verified bytes, every 250 ms. libtorrent verifies every piece it receives
// (SHA-1 against the torrent), and the output size is checked on top.
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { freePort, LOOPBACK } from '../test/interop/harness/ports.js';
import { startLibtorrentSeeder } from '../test/interop/harness/libtorrent.js';
import { startAria2Seeder } from '../test/interop/harness/aria2.js';
import { spawnManaged, type ManagedProcess } from '../test/interop/harness/process.js';
import { startLtSwarm } from '../test/interop/harness/lt-swarm.js';
import { NAME, type Fixture } from './fixture.js';
import { ProcWatch, procSample } from './proc.js';
import type { RunResult } from './table.js';
import { fmt, PYTOR_BIN, pytorLoopbackFlags, pytorNodeArgs } from './util.js';

export type Seeder = 'pytor' | 'libtorrent' | 'aria2';
export const SEEDERS: Seeder[] = ['pytor', 'libtorrent', 'aria2'];

export interface UploadOptions {
  seeders: Seeder[];
  /** libtorrent leecher sessions (1 = the seeding bench, N = swarm). */
  leechers: number;
  runs: number;
  timeoutMs: number;
  log: (s: string) => void;
}

interface RunningSeeder {
  pid: number;
  port: number;
  /** Seconds from spawn until it serves (its start-up check included). */
  readySec: number;
  stop(): Promise<void>;
}

/** `pytor seed` on 127.0.0.1 with a fresh state folder, so its start-up check really runs. */
export async function startPytorSeeder(fx: Fixture, timeoutMs: number, stateDir: string): Promise<RunningSeeder> {
  const port = await freePort('tcp');
  const t0 = Date.now();
  const proc: ManagedProcess = await spawnManaged({
    name: 'pytor-seed',
    cmd: process.execPath,
    args: [...pytorNodeArgs(), PYTOR_BIN, 'seed', fx.torrentFile, '-d', fx.seedDir, '--no-trackers', '--bind', LOOPBACK, '--port', String(port), '--state-dir', stateDir, ...pytorLoopbackFlags('seed')],
    // Printed once the check is done and the listen socket is up (not under --quiet/--json).
    readyLine: /^seeding .* on port \d+/,
    readyTimeoutMs: timeoutMs,
    hardTimeoutMs: timeoutMs * 3,
  });
  const readySec = (Date.now() - t0) / 1000;
  const m = /seeding .* on port (\d+)/.exec(proc.output());
  return { pid: proc.pid, port: m ? Number(m[1]) : port, readySec, stop: async () => void (await proc.stop()) };
}

async function startSeeder(s: Seeder, fx: Fixture, timeoutMs: number, stateDir: string): Promise<RunningSeeder> {
  switch (s) {
    case 'pytor':
      return startPytorSeeder(fx, timeoutMs, stateDir);
    case 'libtorrent': {
      const port = await freePort('both');
      const t0 = Date.now();
      const h = await startLibtorrentSeeder({ torrentFile: fx.torrentFile, dataDir: fx.seedDir, port, readyTimeoutMs: timeoutMs });
      return { pid: h.proc.pid, port, readySec: (Date.now() - t0) / 1000, stop: () => h.stop() };
    }
    case 'aria2': {
      const port = await freePort('both');
      const t0 = Date.now();
      const h = await startAria2Seeder({ torrentFile: fx.torrentFile, dataDir: fx.seedDir, port });
      return { pid: h.proc.pid, port, readySec: (Date.now() - t0) / 1000, stop: () => h.stop() };
    }
  }
}

export async function benchUpload(fx: Fixture, opts: UploadOptions): Promise<Map<string, RunResult[]>> {
  const results = new Map<string, RunResult[]>();
  const bytes = fx.size * opts.leechers;
  for (let run = 1; run <= opts.runs; run++) {
    for (const s of opts.seeders) {
      const r = await runOne(s, fx, opts, bytes);
      const list = results.get(s) ?? [];
      list.push(r);
      results.set(s, list);
      opts.log(
        `run ${run}/${opts.runs} ${s} seeding to ${opts.leechers}: ` +
          (r.ok
            ? `${fmt(bytes / 1e6 / r.wallSec)} MB/s, ${fmt(r.wallSec, 2)} s, ${fmt(r.peakRssKb / 1024)} MB RSS, ${fmt(r.cpuSec, 2)} CPU s`
            : `FAILED\n${r.why}`),
      );
    }
  }
  return results;
}

async function runOne(s: Seeder, fx: Fixture, opts: UploadOptions, bytes: number): Promise<RunResult> {
  const work = fx.scratch(`up-${s}`);
  await mkdir(work, { recursive: true });
  const fail = (why: string): RunResult => ({ ok: false, why, wallSec: NaN, cpuSec: NaN, peakRssKb: NaN, bytes, series: [] });
  let seeder: RunningSeeder | undefined;
  let leech: Awaited<ReturnType<typeof startLtSwarm>> | undefined;
  let watch: ProcWatch | undefined;
  try {
    try {
      seeder = await startSeeder(s, fx, opts.timeoutMs, path.join(work, 'state'));
    } catch (err) {
      return fail(`${s} seeder did not start: ${(err as Error).message.slice(0, 1500)}`);
    }
    const pid = seeder.pid;
    const cpu0 = procSample(pid)?.cpuSec ?? NaN;
    watch = new ProcWatch(() => pid);
    const ports: number[] = [];
    for (let i = 0; i < opts.leechers; i++) ports.push(await freePort('both'));
    const series: [number, number][] = [];
    const finishSec: number[] = [];
    const start = Date.now();
    leech = await startLtSwarm({
      mode: 'leech',
      torrentFile: fx.torrentFile,
      saveDir: path.join(work, 'leech'),
      ports,
      peers: [{ host: LOOPBACK, port: seeder.port }],
      // Every byte from the seeder under test: the leechers neither announce nor find each other.
      noTrackers: true,
      exitOnComplete: true,
      statusIntervalMs: 250,
      onStatus: (st, at) => {
        series.push([(at - start) / 1000, st.totalDone]);
        // Leechers done since the last status (every 250 ms): the resolution of fairness().
        while (finishSec.length < st.complete) finishSec.push((at - start) / 1000);
      },
    });
    try {
      await leech.waitForComplete(opts.timeoutMs);
    } catch (err) {
      return fail(`${s}: ${(err as Error).message.slice(0, 1500)}`);
    }
    const wallSec = (Date.now() - start) / 1000;
    const end = watch.stop();
    for (let i = 0; i < opts.leechers; i++) {
      const st = await stat(path.join(work, 'leech', String(i), NAME)).catch(() => undefined);
      if (st?.size !== fx.size) return fail(`${s}: leecher ${i} holds ${st?.size ?? 'no'} bytes, want ${fx.size}`);
    }
    series.push([wallSec, bytes]);
    while (finishSec.length < opts.leechers) finishSec.push(wallSec); // done after the last status
    return { ok: true, wallSec, cpuSec: (end?.cpuSec ?? NaN) - cpu0, peakRssKb: end?.hwmKb ?? NaN, bytes, series, rssSeries: watch.rss, finishSec };
  } finally {
    watch?.stop();
    await leech?.stop().catch(() => {});
    await seeder?.stop().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}
