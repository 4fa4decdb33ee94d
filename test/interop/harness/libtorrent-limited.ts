// A libtorrent seeder whose upload rate is limited, loopback included (lt_session_limited.py),
// so a download from it lasts long enough for a test to interrupt it midway.
import path from 'node:path';
import { PY_DIR, PYTHON } from './libtorrent.js';
import { spawnManaged, type ManagedProcess } from './process.js';

export interface LimitedSeederOptions {
  readonly torrentFile: string;
  /** The folder holding the torrent's content. */
  readonly dataDir: string;
  readonly port: number;
  /** Bytes per second. */
  readonly uploadRateLimit: number;
  /** Extra announce URLs. */
  readonly trackers?: string[];
}

/** Resolves once the seeder has checked its data and seeds on 127.0.0.1:port; stop() it after. */
export async function startLimitedSeeder(opts: LimitedSeederOptions): Promise<ManagedProcess> {
  const cfg = { mode: 'seed', torrentFile: opts.torrentFile, saveDir: opts.dataDir, port: opts.port, trackers: opts.trackers, uploadRateLimit: opts.uploadRateLimit, ignoreStdin: true, maxSeconds: 600 };
  const proc = await spawnManaged({
    name: 'libtorrent-limited-seed',
    cmd: PYTHON,
    args: [path.join(PY_DIR, 'lt_session_limited.py'), JSON.stringify(cfg)],
    readyLine: /"event": "(ready|error)"/,
    readyTimeoutMs: 120_000,
  });
  if (/"event": "error"/.test(proc.output())) {
    await proc.stop();
    throw new Error(`libtorrent-limited-seed: ${proc.output()}`);
  }
  return proc;
}
