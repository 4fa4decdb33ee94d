// aria2c (1.36) as seeder and leecher on loopback.
// aria2c cannot be told about a peer directly (no option or RPC call for it, see aria2 issues
// #1395 and #1961), so a leecher finds its seeder through a tracker on 127.0.0.1: pass the
// tracker URL in `trackers` (added with --bt-tracker; the torrent's own trackers are dropped
// with --bt-exclude-tracker='*' so nothing else is contacted).
import http from 'node:http';
import { freePort, LOOPBACK } from './ports.js';
import { spawnManaged, pollUntil, type ManagedProcess } from './process.js';
import { runMeasured, type MeasuredRun } from './measure.js';

/** Options every aria2c we start shares: loopback only, TCP peers found by tracker only. */
function commonArgs(listenPort: number, trackers: string[]): string[] {
  const args = [
    '--no-conf=true',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--disable-ipv6=true',
    `--interface=${LOOPBACK}`,
    `--listen-port=${listenPort}`,
    '--bt-exclude-tracker=*',
    '--console-log-level=warn',
    '--summary-interval=0',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--bt-save-metadata=false',
    '--max-overall-upload-limit=0',
    '--max-overall-download-limit=0',
  ];
  if (trackers.length > 0) args.push(`--bt-tracker=${trackers.join(',')}`);
  return args;
}

interface Aria2Status {
  status?: string;
  seeder?: string;
  completedLength?: string;
  totalLength?: string;
  uploadLength?: string;
  numSeeders?: string;
  connections?: string;
  errorMessage?: string;
}

function rpc<T>(port: number, method: string, params: unknown[] = []): Promise<T> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'h', method, params });
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      { host: LOOPBACK, port, path: '/jsonrpc', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', reject);
        res.on('end', () => {
          try {
            const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: T; error?: { message: string } };
            if (j.error) reject(new Error(j.error.message));
            else resolve(j.result as T);
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.setTimeout(2000, () => req.destroy(new Error('aria2 rpc timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface Aria2SeederHandle {
  readonly port: number;
  readonly rpcPort: number;
  readonly proc: ManagedProcess;
  stats(): Promise<{ uploaded: number; peers: number; seeding: boolean }>;
  stop(): Promise<void>;
}

/**
 * aria2c seeding `torrentFile` from `dataDir` on 127.0.0.1:port, forever (--seed-ratio=0.0),
 * after a full hash check. Resolves once aria2 reports itself a seeder (via its JSON-RPC on a
 * loopback port). Give `trackers` so leechers can find it.
 */
export async function startAria2Seeder(opts: { torrentFile: string; dataDir: string; port: number; trackers?: string[] }): Promise<Aria2SeederHandle> {
  const rpcPort = await freePort('tcp');
  const proc = await spawnManaged({
    name: 'aria2-seeder',
    cmd: 'aria2c',
    args: [
      ...commonArgs(opts.port, opts.trackers ?? []),
      `--dir=${opts.dataDir}`,
      '--check-integrity=true',
      '--seed-ratio=0.0',
      '--file-allocation=none',
      '--enable-rpc=true',
      '--rpc-listen-all=false',
      `--rpc-listen-port=${rpcPort}`,
      opts.torrentFile,
    ],
    readyPort: rpcPort,
    readyTimeoutMs: 20_000,
  });
  const active = async () => {
    const list = await rpc<Aria2Status[]>(rpcPort, 'aria2.tellActive', [['status', 'seeder', 'uploadLength', 'connections', 'completedLength', 'totalLength']]);
    return list[0];
  };
  const seeding = await pollUntil(async () => (await active().catch(() => undefined))?.seeder === 'true', 120_000, 200);
  if (!seeding) {
    const out = proc.output();
    await proc.stop();
    throw new Error(`aria2-seeder: never became a seeder (data missing or wrong?)\n${out}`);
  }
  return {
    port: opts.port,
    rpcPort,
    proc,
    async stats() {
      const s = await active();
      return { uploaded: Number(s?.uploadLength ?? 0), peers: Number(s?.connections ?? 0), seeding: s?.seeder === 'true' };
    },
    async stop() {
      await proc.stop();
    },
  };
}

export interface Aria2LeechResult extends MeasuredRun {
  listenPort: number;
}

/**
 * Runs aria2c to download `torrentFile` into `outDir` and exit (--seed-time=0), measured
 * (wall, CPU, peak RSS). Peers come from `trackers` (see the note at the top).
 */
export async function runAria2Leecher(opts: {
  torrentFile: string;
  outDir: string;
  trackers: string[];
  timeoutMs: number;
  port?: number;
  /** aria2's --file-allocation; 'falloc' is its fastest correct mode on ext4/xfs/tmpfs. */
  fileAllocation?: 'none' | 'prealloc' | 'trunc' | 'falloc';
}): Promise<Aria2LeechResult> {
  const listenPort = opts.port ?? (await freePort('tcp'));
  const r = await runMeasured({
    cmd: 'aria2c',
    args: [
      ...commonArgs(listenPort, opts.trackers),
      `--dir=${opts.outDir}`,
      '--seed-time=0',
      '--check-integrity=false',
      `--file-allocation=${opts.fileAllocation ?? 'falloc'}`,
      '--bt-tracker-connect-timeout=5',
      '--bt-tracker-timeout=5',
      opts.torrentFile,
    ],
    timeoutMs: opts.timeoutMs,
  });
  return { ...r, listenPort };
}
