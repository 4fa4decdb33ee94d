// DIRECTION=down (and the download half of swarm and scale): libtorrent seeds the payload from
// `seeders` sessions on 127.0.0.1 (one python process); each leecher downloads it into a fresh
// folder, one at a time. The leecher's whole process is timed (spawn to exit: wall, CPU, peak
// RSS); throughput over time is the seeders' upload counter, sampled every 250 ms.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { freePort, LOOPBACK } from '../test/interop/harness/ports.js';
import { PYTHON, PY_DIR } from '../test/interop/harness/libtorrent.js';
import { runAria2Leecher } from '../test/interop/harness/aria2.js';
import { startTransmissionLeecher } from '../test/interop/harness/transmission.js';
import { runMeasured, firstChild, type MeasuredRun } from '../test/interop/harness/measure.js';
import { startLtSwarm } from '../test/interop/harness/lt-swarm.js';
import { NAME, type Fixture } from './fixture.js';
import { ProcWatch } from './proc.js';
import type { RunResult } from './table.js';
import { fmt, PYTOR_BIN, pytorLoopbackFlags, pytorNodeArgs, tail } from './util.js';

export type Leecher = 'aria2' | 'pytor' | 'libtorrent' | 'transmission';
export const LEECHERS: Leecher[] = ['aria2', 'pytor', 'libtorrent', 'transmission'];

export interface DownloadOptions {
  leechers: Leecher[];
  /** libtorrent seeder sessions (1 = today's bench). */
  seeders: number;
  runs: number;
  timeoutMs: number;
  keep: boolean;
  log: (s: string) => void;
}

export async function benchDownload(fx: Fixture, opts: DownloadOptions): Promise<Map<string, RunResult[]>> {
  const ports: number[] = [];
  for (let i = 0; i < opts.seeders; i++) ports.push(await freePort('both'));
  // Bytes the seeders have uploaded, sampled every 250 ms, routed to the run being timed.
  let sink: ((uploaded: number, atMs: number) => void) | undefined;
  const t0 = Date.now();
  const swarm = await startLtSwarm({
    mode: 'seed',
    torrentFile: fx.torrentFile,
    saveDir: fx.seedDir,
    ports,
    haveAll: true,
    statusIntervalMs: 250,
    onStatus: (s, at) => sink?.(s.uploaded, at),
  });
  opts.log(`${opts.seeders} libtorrent seeder session(s) ready in ${fmt((Date.now() - t0) / 1000)} s on ports ${ports.slice(0, 5).join(',')}${ports.length > 5 ? ',…' : ''}`);
  const results = new Map<string, RunResult[]>();
  try {
    for (let run = 1; run <= opts.runs; run++) {
      for (const l of opts.leechers) {
        const out = fx.scratch(`out-${l}`);
        const series: [number, number][] = [];
        const base = swarm.last()?.uploaded ?? 0;
        const start = Date.now();
        sink = (up, at) => series.push([(at - start) / 1000, up - base]);
        let r: RunResult;
        try {
          r = await runOne(l, fx, out, ports, swarm, opts);
        } finally {
          sink = undefined;
        }
        // Samples that arrive after the leecher exited (the seeder's counter also runs ahead
        // of the leecher by what sits in socket buffers) would draw a false tail: cut at exit.
        r.series = series.filter(([t, b]) => t < r.wallSec && b < fx.size).sort((a, b) => a[0] - b[0]);
        if (r.ok) r.series.push([r.wallSec, fx.size]);
        const list = results.get(l) ?? [];
        list.push(r);
        results.set(l, list);
        opts.log(
          `run ${run}/${opts.runs} ${l}: ` +
            (r.ok
              ? `${fmt(fx.size / 1e6 / r.wallSec)} MB/s, ${fmt(r.wallSec, 2)} s, ${fmt(r.peakRssKb / 1024)} MB RSS, ${fmt(r.cpuSec, 2)} CPU s`
              : `FAILED\n${r.why}`),
        );
        if (!opts.keep) await rm(out, { recursive: true, force: true });
      }
    }
  } finally {
    await swarm.stop();
  }
  return results;
}

async function runOne(
  l: Leecher,
  fx: Fixture,
  out: string,
  ports: number[],
  swarm: Awaited<ReturnType<typeof startLtSwarm>>,
  opts: DownloadOptions,
): Promise<RunResult> {
  const file = path.join(out, NAME);
  const size = fx.size;
  const fromMeasured = async (r: MeasuredRun, what: string, rssSeries?: [number, number][]): Promise<RunResult> => {
    const base = { wallSec: r.wallSec, cpuSec: r.cpuSec, peakRssKb: r.peakRssKb, bytes: size, series: [], rssSeries };
    if (r.timedOut) return { ok: false, why: `${what} timed out after ${opts.timeoutMs / 1000} s\n${tail(r.stderr || r.stdout)}`, ...base };
    if (r.code !== 0) return { ok: false, why: `${what} exited with ${r.code ?? r.signal}\n${tail(r.stderr || r.stdout)}`, ...base };
    const bad = await fx.verify(file);
    return bad ? { ok: false, why: `${what}: ${bad}`, ...base } : { ok: true, ...base };
  };
  switch (l) {
    case 'aria2': {
      const r = await runAria2Leecher({ torrentFile: fx.torrentFile, outDir: out, trackers: [fx.tracker.httpUrl], timeoutMs: opts.timeoutMs });
      return fromMeasured(r, 'aria2c');
    }
    case 'pytor': {
      let watch: ProcWatch | undefined;
      const port = await freePort('tcp');
      const r = await runMeasured({
        cmd: process.execPath,
        args: [
          ...pytorNodeArgs(),
          PYTOR_BIN,
          'download',
          fx.torrentFile,
          '-o',
          out,
          ...ports.flatMap((p) => ['--peer', `${LOOPBACK}:${p}`]),
          '--bind',
          LOOPBACK,
          '--port',
          String(port),
          '--state-dir',
          `${out}-state`,
          '--quiet',
          '--json',
          ...pytorLoopbackFlags('download'),
        ],
        timeoutMs: opts.timeoutMs,
        onSpawn: ({ pid, wrapped }) => {
          let child: number | undefined;
          watch = new ProcWatch(() => (wrapped ? (child ??= firstChild(pid)) : pid));
        },
      });
      watch?.stop();
      await rm(`${out}-state`, { recursive: true, force: true });
      return fromMeasured(r, 'pytor', watch?.rss);
    }
    case 'libtorrent': {
      const cfg = {
        mode: 'leech',
        torrentFile: fx.torrentFile,
        saveDir: out,
        port: await freePort('both'),
        peers: ports.map((p) => [LOOPBACK, p]),
        statusIntervalMs: 1000,
        exitOnComplete: true,
        ignoreStdin: true,
        maxSeconds: opts.timeoutMs / 1000 + 5,
      };
      const r = await runMeasured({ cmd: PYTHON, args: [path.join(PY_DIR, 'lt_session.py'), JSON.stringify(cfg)], timeoutMs: opts.timeoutMs });
      return fromMeasured(r, 'libtorrent');
    }
    case 'transmission': {
      // transmission-daemon never exits by itself and ignores 127.x peers from trackers, so
      // the seeders connect to it; timed from spawn until it reports completion.
      const start = process.hrtime.bigint();
      const port = await freePort('both');
      const tr = await startTransmissionLeecher({ torrentFile: fx.torrentFile, saveDir: out, port });
      const watch = new ProcWatch(() => tr.proc.pid, 100);
      const fail = (why: string): RunResult => ({ ok: false, why, wallSec: NaN, cpuSec: NaN, peakRssKb: NaN, bytes: size, series: [] });
      try {
        swarm.connect(LOOPBACK, port);
        const kick = setInterval(() => swarm.connect(LOOPBACK, port), 5000);
        try {
          await tr.waitForComplete(opts.timeoutMs);
        } finally {
          clearInterval(kick);
        }
        const last = watch.stop();
        const wallSec = Number(process.hrtime.bigint() - start) / 1e9;
        const res = { wallSec, cpuSec: last?.cpuSec ?? NaN, peakRssKb: last?.hwmKb ?? NaN, bytes: size, series: [] };
        const bad = await fx.verify(file);
        return bad ? { ok: false, why: `transmission: ${bad}`, ...res } : { ok: true, ...res };
      } catch (err) {
        return fail(`transmission: ${(err as Error).message.split('\n')[0]}`);
      } finally {
        watch.stop();
        await tr.stop();
      }
    }
  }
}
