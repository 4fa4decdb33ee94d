/**
 * Deleting a torrent's downloaded data (`torrent-remove` with delete-local-data): only the
 * files the torrent names, its part file, and the folders it made once they are empty. Never
 * a whole folder by name (the user may keep other files in it), and never through a symlink:
 * a path whose folders are not real folders inside outDir is left alone, and a symlink where a
 * file should be is unlinked itself, not its target.
 */
import { lstat, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import createDebug from 'debug';
import type { Torrent } from '../metainfo/index.js';

const log = createDebug('pytor:client');

export interface DeleteResult {
  /** Files (and symlinks) unlinked. */
  readonly files: number;
  /** Paths left alone because a folder on the way is a symlink or not a folder. */
  readonly skipped: readonly string[];
}

/** Deletes what `torrent` downloaded into `outDir`; missing files are no error. */
export async function deleteTorrentData(torrent: Torrent, outDir: string): Promise<DeleteResult> {
  const root = resolve(outDir);
  const targets: string[] = [];
  for (const f of torrent.files) {
    if (f.padding) continue;
    targets.push(join(root, ...(torrent.multiFile ? [torrent.name, ...f.path] : f.path)));
  }
  targets.push(join(root, '.pytor', `${torrent.infoHashHex}.parts`));
  let files = 0;
  const skipped: string[] = [];
  const folders = new Set<string>();
  for (const target of targets) {
    if (!inside(root, target)) {
      skipped.push(target);
      continue;
    }
    if (!(await realFoldersBetween(root, dirname(target)))) {
      skipped.push(target);
      continue;
    }
    try {
      const st = await lstat(target);
      if (st.isDirectory()) {
        skipped.push(target);
        continue;
      }
      await unlink(target);
      files++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (let d = dirname(target); d !== root && inside(root, d); d = dirname(d)) folders.add(d);
  }
  // Deepest first; a folder still holding something of the user's stays.
  for (const d of [...folders].sort((a, b) => b.length - a.length)) {
    await rmdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') log('rmdir %s: %s', d, err.message);
    });
  }
  if (skipped.length > 0) log('delete %s: left %d paths alone (symlinked folders)', torrent.infoHashHex, skipped.length);
  return { files, skipped };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

/** Whether every folder from root (exclusive) down to `dir` is a real folder, not a symlink. Missing ones count as real (nothing to follow). */
async function realFoldersBetween(root: string, dir: string): Promise<boolean> {
  const parts = relative(root, dir).split(sep).filter((p) => p.length > 0);
  let at = root;
  for (const part of parts) {
    at = join(at, part);
    try {
      const st = await lstat(at);
      if (st.isSymbolicLink() || !st.isDirectory()) return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  }
  return true;
}
