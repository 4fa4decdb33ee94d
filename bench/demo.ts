// `npm run demo`: pytor end to end on one machine, no internet. Makes a 64 MiB payload of a few
// files, starts a tracker (the npm bittorrent-tracker, in this process, on 127.0.0.1), runs
// `pytor create`, `pytor seed` and `pytor download` as child processes (the download's progress
// bar on this terminal), checks every byte, prints a summary and removes everything.
// Exit 0 on success, 1 on any failure. Env: DEMO_MIB (default 64), KEEP=1 keeps the temp folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePayload, verifyPayload, type PayloadSpec } from '../test/interop/harness/payload.js';
import { startBittorrentTracker, type BittorrentTrackerHandle } from '../test/interop/harness/trackers.js';

const ENTRY = fileURLToPath(new URL('../src/cli/entry.js', import.meta.url));
const MiB = 1 << 20;
const DEADLINE_MS = 60_000;
const SEED = 'pytor-demo';

function say(text: string): void {
  process.stdout.write(`demo: ${text}\n`);
}

function payloadSpec(totalMiB: number): PayloadSpec {
  // A few files of uneven sizes, so pieces straddle file boundaries and the last piece is short.
  const big = Math.max(1, Math.floor(totalMiB * 0.6));
  const mid = Math.max(1, Math.floor(totalMiB * 0.25));
  const rest = Math.max(1, totalMiB - big - mid);
  return {
    files: [
      { path: 'pytor-demo/video.bin', size: big * MiB + 4_321 },
      { path: 'pytor-demo/photos/album.bin', size: mid * MiB - 1_234 },
      { path: 'pytor-demo/music/track01.bin', size: rest * MiB - 777 },
      { path: 'pytor-demo/README.txt', size: 2_048 },
    ],
  };
}

interface Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** Runs `pytor ARGS`; `inherit` shows its output (the progress bar) on this terminal. */
function pytor(args: string[], stdio: 'inherit' | 'pipe', onLine?: (line: string) => void): Child {
  const proc = spawn(process.execPath, [ENTRY, ...args], { stdio: ['ignore', stdio, stdio] });
  if (stdio === 'pipe') {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine?.(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
  }
  const exited = new Promise<number | null>((resolve) => {
    proc.once('error', () => resolve(null));
    proc.once('close', (code) => resolve(code));
  });
  return { proc, exited };
}

async function main(): Promise<number> {
  const started = Date.now();
  const totalMiB = Number(process.env.DEMO_MIB ?? 64);
  if (!Number.isInteger(totalMiB) || totalMiB < 3) throw new Error('DEMO_MIB must be a whole number >= 3');
  const dir = await mkdtemp(path.join(tmpdir(), 'pytor-demo-'));
  const children: Child[] = [];
  let tracker: BittorrentTrackerHandle | undefined;
  // Whatever happens (failure, Ctrl-C, the deadline): children stopped, tracker closed, temp removed.
  const cleanup = async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await tracker?.stop();
    if (process.env.KEEP === '1') say(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  };
  const deadline = setTimeout(() => {
    process.stderr.write(`demo: FAILED: not done within ${DEADLINE_MS / 1000} s\n`);
    void cleanup().finally(() => process.exit(1));
  }, DEADLINE_MS);
  const onSignal = () => {
    process.stderr.write('demo: interrupted\n');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    const spec = payloadSpec(totalMiB);
    const seedDir = path.join(dir, 'seeder');
    const leechDir = path.join(dir, 'leecher');
    const torrentFile = path.join(dir, 'pytor-demo.torrent');
    say(`making a ${totalMiB} MiB payload of ${spec.files.length} files in ${seedDir}`);
    await makePayload(seedDir, spec, SEED);

    tracker = await startBittorrentTracker();
    say(`tracker (npm bittorrent-tracker) at ${tracker.httpUrl}`);

    say('pytor create');
    const create = pytor(['create', path.join(seedDir, 'pytor-demo'), '-o', torrentFile, '-t', tracker.httpUrl, '--json'], 'pipe', (l) => {
      if (l.startsWith('{')) {
        const made = JSON.parse(l) as { infoHash: string; pieceCount: number; pieceLength: number };
        say(`  info-hash ${made.infoHash}, ${made.pieceCount} pieces of ${made.pieceLength / 1024} KiB`);
      }
    });
    children.push(create);
    if ((await create.exited) !== 0) throw new Error('pytor create failed');

    say('pytor seed (child process)');
    let seedPort = 0;
    const seedLines: string[] = [];
    let onReady = () => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const seeder = pytor(['seed', torrentFile, '-d', seedDir, '--bind', '127.0.0.1', '--port', '0', '--no-dht', '--state-dir', path.join(dir, 'state')], 'pipe', (l) => {
      seedLines.push(l);
      const m = /^seeding .* on port (\d+)$/.exec(l);
      if (m) {
        seedPort = Number(m[1]);
        onReady();
      }
    });
    children.push(seeder);
    void seeder.exited.then(() => onReady());
    await ready;
    if (!seedPort) throw new Error(`pytor seed did not start:\n${seedLines.join('\n')}`);
    say(`  seeding on 127.0.0.1:${seedPort}`);

    say('pytor download (child process; its progress below)');
    const t0 = Date.now();
    const download = pytor(['download', torrentFile, '-o', leechDir, '--bind', '127.0.0.1', '--port', '0', '--no-dht', '--state-dir', path.join(dir, 'state')], 'inherit');
    children.push(download);
    const code = await download.exited;
    const seconds = (Date.now() - t0) / 1000;
    if (code !== 0) throw new Error(`pytor download exited with ${code}`);

    say('checking every byte against the original');
    const problems = await verifyPayload(leechDir, spec, SEED);
    if (problems.length > 0) throw new Error(`downloaded data differs: ${problems.join('; ')}`);

    seeder.proc.kill('SIGINT');
    const seedCode = await seeder.exited;
    const summary = seedLines.filter((l) => /: seeded /.test(l)).pop();
    if (seedCode !== 130) throw new Error(`pytor seed exited with ${seedCode} on Ctrl-C, expected 130`);
    const bytes = spec.files.reduce((n, f) => n + f.size, 0);
    say(`seeder: ${summary ?? '(no summary)'}`);
    say(
      `OK: ${(bytes / MiB).toFixed(1)} MiB in ${spec.files.length} files, downloaded in ${seconds.toFixed(1)} s ` +
        `(${(bytes / MiB / seconds).toFixed(1)} MiB/s), every byte verified; whole demo ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`demo: FAILED: ${(err as Error).message}\n`);
    return 1;
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`demo: FAILED: ${err.message}\n`);
    process.exitCode = 1;
  },
);
