// `npm run bench`: pytor against real clients, same payload, same seeder, same run.
// One libtorrent seeder on 127.0.0.1 seeds a SIZE payload (256 KiB pieces); each leecher in
// LEECHERS downloads it into a fresh folder, one at a time, RUNS times; the whole process is
// timed and the output is checked byte for byte (size + SHA-256). Nothing leaves loopback.
//
// Env: SIZE (default 1G; 256M, 1G, 512K or bytes), RUNS (default 1; the median is shown),
//      LEECHERS (default aria2,pytor; also libtorrent, transmission), TIMEOUT_S per run
//      (default 600), KEEP=1 keeps the temp folder, BENCH_JSON=1 prints a JSON line too.
// MB/s is 10^6 bytes per second of the whole process, from spawn to exit.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, LOOPBACK } from '../test/interop/harness/ports.js';
import { makePayload, expectedFileHash, hashFile } from '../test/interop/harness/payload.js';
import { makeTorrent, startLibtorrentSeeder, PYTHON, PY_DIR, type LibtorrentHandle } from '../test/interop/harness/libtorrent.js';
import { startOpentracker, type OpentrackerHandle } from '../test/interop/harness/trackers.js';
import { runAria2Leecher } from '../test/interop/harness/aria2.js';
import { startTransmissionLeecher } from '../test/interop/harness/transmission.js';
import { runMeasured, type MeasuredRun } from '../test/interop/harness/measure.js';
import { pollUntil, stopAll } from '../test/interop/harness/process.js';

type Leecher = 'aria2' | 'pytor' | 'libtorrent' | 'transmission';
const ALL: Leecher[] = ['aria2', 'pytor', 'libtorrent', 'transmission'];

interface RunResult {
  ok: boolean;
  why?: string;
  wallSec: number;
  cpuSec: number;
  peakRssKb: number;
}

export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(s);
  if (!m) throw new Error(`SIZE: cannot parse ${JSON.stringify(s)} (try 256M or 1G)`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`SIZE: ${s} is not a positive size`);
  return n;
}

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function tail(s: string, n = 1500): string {
  return s.length > n ? '…' + s.slice(-n) : s;
}

/** /proc sampling of a process we did not spawn through runMeasured (transmission-daemon). */
function procSample(pid: number): { cpuSec: number; hwmKb: number } | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return { cpuSec: (Number(f[11]) + Number(f[12])) / 100, hwmKb: m ? Number(m[1]) : NaN };
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const size = parseSize(process.env.SIZE ?? '1G');
  const runs = Math.max(1, Math.min(20, Number(process.env.RUNS ?? '1') || 1));
  const leechers = (process.env.LEECHERS ?? 'aria2,pytor').split(',').map((s) => s.trim()).filter(Boolean) as Leecher[];
  for (const l of leechers) if (!ALL.includes(l)) throw new Error(`LEECHERS: unknown ${l} (known: ${ALL.join(', ')})`);
  const timeoutMs = Math.max(10, Number(process.env.TIMEOUT_S ?? '600') || 600) * 1000;
  const keep = process.env.KEEP === '1';

  const work = await mkdtemp(path.join(tmpdir(), 'pytor-bench-'));
  const seedDir = path.join(work, 'seed');
  const torrentFile = path.join(work, 'payload.torrent');
  const name = 'payload.bin';
  const seedKey = 'pytor-bench';
  let tracker: OpentrackerHandle | undefined;
  let seeder: LibtorrentHandle | undefined;
  const results = new Map<Leecher, RunResult[]>();
  try {
    console.log(`bench: SIZE=${size} bytes (${fmt(size / 2 ** 20, 0)} MiB), 256 KiB pieces, RUNS=${runs}, LEECHERS=${leechers.join(',')}`);
    console.log(`bench: work dir ${work}${keep ? ' (kept)' : ''}`);
    let t0 = Date.now();
    await makePayload(seedDir, { files: [{ path: name, size }] }, seedKey);
    const wantHash = expectedFileHash(seedKey, name, size);
    console.log(`bench: payload written in ${fmt((Date.now() - t0) / 1000)} s`);
    // aria2c and transmission find peers only through a tracker; pytor and libtorrent get
    // the seeder's address directly.
    tracker = await startOpentracker({ host: LOOPBACK });
    const made = await makeTorrent({ dataPath: path.join(seedDir, name), pieceLength: 256 * 1024, trackers: [tracker.httpUrl], outFile: torrentFile, v1Only: true });
    await tracker.allow([made.infoHash]);
    t0 = Date.now();
    const seedPort = await freePort('both');
    seeder = await startLibtorrentSeeder({ torrentFile, dataDir: seedDir, port: seedPort, readyTimeoutMs: timeoutMs });
    console.log(`bench: libtorrent seeder on ${LOOPBACK}:${seedPort}, checked in ${fmt((Date.now() - t0) / 1000)} s; info-hash ${made.infoHash}`);

    const verify = async (file: string): Promise<string | undefined> => {
      let st;
      try {
        st = await stat(file);
      } catch {
        return `no output file ${file}`;
      }
      if (st.size !== size) return `output size ${st.size}, want ${size}`;
      if ((await hashFile(file)) !== wantHash) return 'output bytes differ from the payload';
      return undefined;
    };

    const fromMeasured = async (r: MeasuredRun, file: string, what: string): Promise<RunResult> => {
      const base = { wallSec: r.wallSec, cpuSec: r.cpuSec, peakRssKb: r.peakRssKb };
      if (r.timedOut) return { ok: false, why: `${what} timed out after ${timeoutMs / 1000} s\n${tail(r.stderr || r.stdout)}`, ...base };
      if (r.code !== 0) return { ok: false, why: `${what} exited with ${r.code ?? r.signal}\n${tail(r.stderr || r.stdout)}`, ...base };
      const bad = await verify(file);
      return bad ? { ok: false, why: `${what}: ${bad}`, ...base } : { ok: true, ...base };
    };

    const runOne = async (l: Leecher, out: string): Promise<RunResult> => {
      const file = path.join(out, name);
      switch (l) {
        case 'aria2': {
          const r = await runAria2Leecher({ torrentFile, outDir: out, trackers: [tracker!.httpUrl], timeoutMs });
          return fromMeasured(r, file, 'aria2c');
        }
        case 'pytor': {
          const r = await runMeasured({
            cmd: process.execPath,
            args: [path.resolve(process.cwd(), 'bin', 'pytor.js'), 'download', torrentFile, '-o', out, '--peer', `${LOOPBACK}:${seedPort}`, '--quiet', '--json', '--no-dht', '--state-dir', path.join(work, 'state')],
            timeoutMs,
          });
          return fromMeasured(r, file, 'pytor');
        }
        case 'libtorrent': {
          const cfg = { mode: 'leech', torrentFile, saveDir: out, port: await freePort('both'), peers: [[LOOPBACK, seedPort]], statusIntervalMs: 1000, exitOnComplete: true, ignoreStdin: true, maxSeconds: timeoutMs / 1000 + 5 };
          const r = await runMeasured({ cmd: PYTHON, args: [path.join(PY_DIR, 'lt_session.py'), JSON.stringify(cfg)], timeoutMs });
          return fromMeasured(r, file, 'libtorrent');
        }
        case 'transmission': {
          // transmission-daemon never exits by itself and ignores 127.x peers from trackers,
          // so the seeder connects to it; timed from spawn until it reports completion.
          const start = process.hrtime.bigint();
          const port = await freePort('both');
          const tr = await startTransmissionLeecher({ torrentFile, saveDir: out, port });
          let last = procSample(tr.proc.pid);
          const sampler = setInterval(() => {
            last = procSample(tr.proc.pid) ?? last;
          }, 100);
          try {
            seeder!.connect(LOOPBACK, port);
            const kick = setInterval(() => seeder!.connect(LOOPBACK, port), 5000);
            try {
              await tr.waitForComplete(timeoutMs);
            } finally {
              clearInterval(kick);
            }
            last = procSample(tr.proc.pid) ?? last;
            const wallSec = Number(process.hrtime.bigint() - start) / 1e9;
            const res = { wallSec, cpuSec: last?.cpuSec ?? NaN, peakRssKb: last?.hwmKb ?? NaN };
            const bad = await verify(file);
            return bad ? { ok: false, why: `transmission: ${bad}`, ...res } : { ok: true, ...res };
          } catch (err) {
            return { ok: false, why: `transmission: ${(err as Error).message.split('\n')[0]}`, wallSec: NaN, cpuSec: NaN, peakRssKb: NaN };
          } finally {
            clearInterval(sampler);
            await tr.stop();
          }
        }
      }
    };

    for (let run = 1; run <= runs; run++) {
      for (const l of leechers) {
        const out = path.join(work, `out-${l}-${run}`);
        process.stdout.write(`bench: run ${run}/${runs} ${l} … `);
        const r = await runOne(l, out);
        const list = results.get(l) ?? [];
        list.push(r);
        results.set(l, list);
        if (r.ok) console.log(`${fmt(size / 1e6 / r.wallSec)} MB/s, ${fmt(r.wallSec, 2)} s, ${fmt(r.peakRssKb / 1024)} MB RSS, ${fmt(r.cpuSec, 2)} CPU s`);
        else console.log(`FAILED\n${r.why}`);
        if (!keep) await rm(out, { recursive: true, force: true });
      }
    }
    const up = await seeder.stats().catch(() => undefined);
    if (up) console.log(`bench: seeder uploaded ${fmt(up.uploaded / 2 ** 20, 0)} MiB in total`);
  } finally {
    await seeder?.stop().catch(() => {});
    await tracker?.stop().catch(() => {});
    await stopAll();
    if (!keep) await rm(work, { recursive: true, force: true });
  }

  // Table of medians over the successful runs.
  const rows: { l: Leecher; ok: number; mbps: number; wall: number; rss: number; cpuPerGiB: number }[] = [];
  for (const l of leechers) {
    const good = (results.get(l) ?? []).filter((r) => r.ok);
    const wall = median(good.map((r) => r.wallSec));
    rows.push({
      l,
      ok: good.length,
      wall,
      mbps: size / 1e6 / wall,
      rss: median(good.map((r) => r.peakRssKb)) / 1024,
      cpuPerGiB: median(good.map((r) => r.cpuSec)) / (size / 2 ** 30),
    });
  }
  console.log('');
  console.log(`| leecher | ok runs | MB/s whole run | wall s | peak RSS MB | CPU s per GiB |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.l} | ${r.ok}/${runs} | ${fmt(r.mbps)} | ${fmt(r.wall, 2)} | ${fmt(r.rss)} | ${fmt(r.cpuPerGiB, 2)} |`);
  const a = rows.find((r) => r.l === 'aria2');
  const p = rows.find((r) => r.l === 'pytor');
  if (a && p) {
    if (p.ok > 0 && a.ok > 0) console.log(`\npytor/aria2c: MB/s ${fmt(p.mbps / a.mbps, 2)}x, peak RSS ${fmt(p.rss / a.rss, 2)}x`);
    else console.log(`\npytor/aria2c: no ratio (pytor ok runs ${p.ok}, aria2c ok runs ${a.ok})`);
  }
  if (process.env.BENCH_JSON === '1') console.log(JSON.stringify({ size, runs, results: rows }));
  // Exit non-zero if any leecher never succeeded, so scripts notice; the table is printed anyway.
  return rows.every((r) => r.ok > 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: Error) => {
    console.error(`bench: ${err.message}`);
    await stopAll();
    process.exit(2);
  },
);
