// `node dist/bench/profile.js`: where pytor spends CPU and memory downloading and seeding
// SIZE (default 1G) on loopback, against python3-libtorrent. Three runs per direction:
//   cpu   node --cpu-prof              -> top functions by self time (and by file)
//   heap  node --heap-prof             -> top allocation sites still live at exit (JS heap only)
//   mem   process.memoryUsage() every 250 ms (bench/memlog.ts) -> rss, heap, arrayBuffers
// Profiles land in PROFILE_DIR (default: a temp folder, printed); a summary is printed.
// PROFILE_RUNS narrows the runs, e.g. `down-cpu,seed-mem` (default: all six).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, LOOPBACK } from '../test/interop/harness/ports.js';
import { runMeasured } from '../test/interop/harness/measure.js';
import { spawnManaged, stopAll } from '../test/interop/harness/process.js';
import { startLtSwarm } from '../test/interop/harness/lt-swarm.js';
import { makeFixture, type Fixture } from './fixture.js';
import { fmt, parseSize, pytorLoopbackFlags, pytorNodeArgs, sizeLabel } from './util.js';

const ENTRY = path.resolve(process.cwd(), 'dist', 'src', 'cli', 'entry.js');
const MEMLOG = path.resolve(process.cwd(), 'dist', 'bench', 'memlog.js');
type Kind = 'cpu' | 'heap' | 'mem';

function nodeFlags(kind: Kind, dir: string): string[] {
  if (kind === 'cpu') return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  if (kind === 'heap') return ['--heap-prof', `--heap-prof-dir=${dir}`];
  return ['--import', MEMLOG];
}

async function profileDownload(fx: Fixture, kind: Kind, dir: string): Promise<number> {
  const port = await freePort('both');
  const swarm = await startLtSwarm({ mode: 'seed', torrentFile: fx.torrentFile, saveDir: fx.seedDir, ports: [port], haveAll: true });
  const out = fx.scratch('prof-down');
  try {
    const r = await runMeasured({
      cmd: process.execPath,
      args: [...pytorNodeArgs(), ...nodeFlags(kind, dir), ENTRY, 'download', fx.torrentFile, '-o', out, '--peer', `${LOOPBACK}:${port}`, '--no-trackers', '--bind', LOOPBACK, '--port', String(await freePort('tcp')), '--state-dir', `${out}-state`, '--quiet', '--json', ...pytorLoopbackFlags('download')],
      env: { ...process.env, MEMLOG_FILE: path.join(dir, 'down-mem.json') },
      timeoutMs: 600_000,
    });
    if (r.code !== 0) throw new Error(`pytor download (${kind}) exited ${r.code ?? r.signal}: ${r.stderr.slice(-1000)}`);
    const bad = await fx.verify(path.join(out, 'payload.bin'));
    if (bad) throw new Error(`pytor download (${kind}): ${bad}`);
    console.log(`profile: download ${kind}: ${fmt(r.wallSec, 2)} s, ${fmt(r.cpuSec, 2)} CPU s, ${fmt(r.peakRssKb / 1024)} MB peak RSS`);
    return r.wallSec;
  } finally {
    await swarm.stop();
    await rm(out, { recursive: true, force: true });
    await rm(`${out}-state`, { recursive: true, force: true });
  }
}

async function profileSeed(fx: Fixture, kind: Kind, dir: string): Promise<void> {
  const port = await freePort('tcp');
  const state = fx.scratch('prof-seed-state');
  const t0 = Date.now();
  const seeder = await spawnManaged({
    name: 'pytor-seed',
    cmd: process.execPath,
    args: [...pytorNodeArgs(), ...nodeFlags(kind, dir), ENTRY, 'seed', fx.torrentFile, '-d', fx.seedDir, '--no-trackers', '--bind', LOOPBACK, '--port', String(port), '--state-dir', state, ...pytorLoopbackFlags('seed')],
    env: { ...process.env, MEMLOG_FILE: path.join(dir, 'seed-mem.json') },
    readyLine: /^seeding .* on port \d+/,
    readyTimeoutMs: 600_000,
  });
  const checked = (Date.now() - t0) / 1000;
  const leechDir = fx.scratch('prof-leech');
  const start = Date.now();
  const leech = await startLtSwarm({ mode: 'leech', torrentFile: fx.torrentFile, saveDir: leechDir, ports: [await freePort('both')], peers: [{ host: LOOPBACK, port }], noTrackers: true, exitOnComplete: true });
  try {
    await leech.waitForComplete(600_000);
    console.log(`profile: seed ${kind}: checked in ${fmt(checked, 2)} s, served in ${fmt((Date.now() - start) / 1000, 2)} s`);
  } finally {
    await leech.stop();
    // SIGTERM: pytor stops cleanly, so node writes the profile on exit.
    await seeder.stop(20_000);
    await rm(leechDir, { recursive: true, force: true });
    await rm(state, { recursive: true, force: true });
  }
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** A script URL without this machine's folders: dist/…, node_modules/…, node:… */
function short(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, 'dist/').replace(/^.*\/node_modules\//, 'node_modules/') || '(native)';
}

/** Self time by function and by source file from a .cpuprofile. */
export function summarizeCpu(profile: { nodes: CpuNode[]; startTime: number; endTime: number; samples: number[] }, top = 25): string {
  const totalHits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  const usPerHit = totalHits > 0 ? (profile.endTime - profile.startTime) / totalHits : 0;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    const file = f.url ? short(f.url) : f.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + hits);
  }
  const line = ([k, h]: [string, number]) => `| ${k} | ${fmt((h * usPerHit) / 1e6, 2)} | ${fmt((100 * h) / totalHits)}% |`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `profile span ${fmt((profile.endTime - profile.startTime) / 1e6, 2)} s`,
    '',
    '| function (self time) | s | share |',
    '|---|---|---|',
    ...sorted(byFn).slice(0, top).map(line),
    '',
    '| file (self time) | s | share |',
    '|---|---|---|',
    ...sorted(byFile).slice(0, 15).map(line),
  ].join('\n');
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

export function summarizeHeap(profile: { head: HeapNode }, top = 15): string {
  const by = new Map<string, number>();
  const walk = (n: HeapNode) => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? short(f.url) : ''}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    if (n.selfSize) by.set(key, (by.get(key) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(profile.head);
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  return [
    `JS heap sampled at exit: ${fmt(total / 2 ** 20)} MB`,
    '',
    '| allocation site | MB |',
    '|---|---|',
    ...[...by]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => `| ${k} | ${fmt(v / 2 ** 20, 2)} |`),
  ].join('\n');
}

export function summarizeMem(series: { t: number; rss: number; heapUsed: number; external: number; arrayBuffers: number }[]): string {
  const mb = (n: number) => fmt(n / 2 ** 20);
  const peak = (k: 'rss' | 'heapUsed' | 'external' | 'arrayBuffers') => Math.max(...series.map((s) => s[k]));
  const pick = series.filter((_, i) => i % Math.max(1, Math.ceil(series.length / 12)) === 0);
  return [
    `peak: rss ${mb(peak('rss'))} MB, heapUsed ${mb(peak('heapUsed'))} MB, external ${mb(peak('external'))} MB, arrayBuffers ${mb(peak('arrayBuffers'))} MB`,
    '',
    '| t s | rss MB | heapUsed MB | external MB | arrayBuffers MB |',
    '|---|---|---|---|---|',
    ...pick.map((s) => `| ${fmt(s.t, 2)} | ${mb(s.rss)} | ${mb(s.heapUsed)} | ${mb(s.external)} | ${mb(s.arrayBuffers)} |`),
  ].join('\n');
}

async function newest(dir: string, ext: string): Promise<string | undefined> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(ext)).sort();
  return files.length ? path.join(dir, files[files.length - 1]!) : undefined;
}

async function main(): Promise<void> {
  const size = parseSize(process.env.SIZE ?? '1G');
  const root = process.env.PROFILE_DIR ? path.resolve(process.env.PROFILE_DIR) : await mkdtemp(path.join(tmpdir(), 'pytor-profile-'));
  const work = await mkdtemp(path.join(tmpdir(), 'pytor-profile-work-'));
  const fx = await makeFixture(work, size, (s) => console.log(`profile: ${s}`));
  const only = process.env.PROFILE_RUNS ? process.env.PROFILE_RUNS.split(',').map((x) => x.trim()) : undefined;
  const report: string[] = [`# pytor profile, ${sizeLabel(size)} on loopback against python3-libtorrent`];
  try {
    for (const what of ['down', 'seed'] as const) {
      for (const kind of ['cpu', 'heap', 'mem'] as Kind[]) {
        if (only && !only.includes(`${what}-${kind}`)) continue;
        const dir = path.join(root, `${what}-${kind}`);
        await mkdir(dir, { recursive: true });
        if (what === 'down') await profileDownload(fx, kind, dir);
        else await profileSeed(fx, kind, dir);
        if (kind === 'cpu') {
          const f = await newest(dir, '.cpuprofile');
          if (f) report.push(`\n## ${what}: CPU (${path.basename(f)})\n`, summarizeCpu(JSON.parse(await readFile(f, 'utf8'))));
        } else if (kind === 'heap') {
          const f = await newest(dir, '.heapprofile');
          if (f) report.push(`\n## ${what}: JS heap\n`, summarizeHeap(JSON.parse(await readFile(f, 'utf8'))));
        } else {
          const f = path.join(dir, `${what === 'down' ? 'down' : 'seed'}-mem.json`);
          report.push(`\n## ${what}: process.memoryUsage() over time\n`, summarizeMem(JSON.parse(await readFile(f, 'utf8'))));
        }
      }
    }
  } finally {
    await fx.close();
    await stopAll();
    await rm(work, { recursive: true, force: true });
  }
  const text = report.join('\n') + '\n';
  await writeFile(path.join(root, 'profile-summary.md'), text);
  console.log(text);
  console.log(`profile: files in ${root}`);
}

main().catch(async (err: Error) => {
  console.error(`profile: ${err.stack ?? err.message}`);
  await stopAll();
  process.exit(2);
});
