/**
 * The state folder: where the client keeps what must outlive a run (resume data per torrent;
 * later the DHT table and the daemon's torrent list). Every file is written atomically: a
 * temp file beside it, fsync, rename, so a crash leaves the old version or the new, never half.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import createDebug from 'debug';
import type { Torrent } from '../metainfo/index.js';
import { decodeResume, encodeResume, MAX_RESUME_BYTES, type ResumeData } from '../storage/index.js';

const log = createDebug('pytor:client');

/** `$XDG_STATE_HOME/pytor`, else `~/.local/state/pytor`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const xdg = env.XDG_STATE_HOME;
  // The XDG spec ignores relative values.
  if (xdg && xdg.startsWith('/')) return join(xdg, 'pytor');
  return join(home, '.local', 'state', 'pytor');
}

let tempCounter = 0;

/** Writes `data` to `path` so that readers see either the old file or the whole new one. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${tempCounter++}.tmp`;
  try {
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  // The rename itself is durable only once the folder is synced.
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  if (dir) await dir.sync().catch(() => undefined).finally(() => dir.close());
}

/** Resume files, one per torrent: `<state>/resume/<info-hash>.resume`. */
export class ResumeStore {
  constructor(readonly stateDir: string) {}

  pathOf(infoHashHex: string): string {
    return join(this.stateDir, 'resume', `${infoHashHex}.resume`);
  }

  /** The torrent's resume data for `outDir`, or undefined (none, unreadable, or another folder). */
  async load(torrent: Torrent, outDir: string): Promise<ResumeData | undefined> {
    const path = this.pathOf(torrent.infoHashHex);
    let bytes: Buffer;
    try {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > MAX_RESUME_BYTES) throw new Error(`${size} bytes is too large`);
        bytes = await readFile(handle);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log('resume %s unreadable: %s', path, (err as Error).message);
      return undefined;
    }
    try {
      const data = decodeResume(bytes, torrent);
      if (resolve(data.outDir) !== resolve(outDir)) {
        log('resume %s is for %s, not %s: checking everything', path, data.outDir, outDir);
        return undefined;
      }
      return data;
    } catch (err) {
      log('resume %s ignored: %s', path, (err as Error).message);
      return undefined;
    }
  }

  save(data: ResumeData): Promise<void> {
    return writeFileAtomic(this.pathOf(data.infoHash.toString('hex')), encodeResume(data));
  }

  async remove(infoHashHex: string): Promise<void> {
    await rm(this.pathOf(infoHashHex), { force: true });
  }
}
