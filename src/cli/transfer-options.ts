// The transfer-control options of `download` and `seed`: which files (--select, --only,
// --exclude), in what order (--sequential, --stdout), how fast (--limit-down, --limit-up), how
// long to seed (--seed-time) and machine output (--json-events). Parsing and checks only; the
// engine does the work.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import picomatch from 'picomatch';
import type { Torrent } from '../metainfo/index.js';
import { DEFAULT_UPLOAD_SLOTS } from '../session/choker.js';
import { parseSelect, selectFiles, type PathPredicate } from '../storage/index.js';
import { CliError } from './errors.js';
import { positiveInt } from './options.js';
import { parseDuration, parseRate } from './units.js';

export interface LimitOptions {
  readonly limitDown?: number;
  readonly limitUp?: number;
  readonly uploadSlots?: number;
  readonly seedTime?: number;
  readonly jsonEvents?: boolean;
}

export interface SelectionOptions {
  readonly select?: string;
  readonly only: string[];
  readonly exclude: string[];
  readonly sequential?: boolean;
  readonly stdout?: boolean;
}

/** Adds --limit-down, --limit-up, --upload-slots, --seed-time and --json-events (LimitOptions). */
export function addLimitOptions(command: Command, download: boolean): Command {
  if (download) command.option('--limit-down <rate>', 'most download bytes per second, all peers and web seeds together (500K, 2M, 1.5MiB)', parseRate);
  return command
    .option('--limit-up <rate>', 'most upload bytes per second, all peers together (500K, 2M, 1.5MiB)', parseRate)
    .option('--upload-slots <n>', `peers we upload to at once, chosen by rate, plus one that rotates every 30 s (default ${DEFAULT_UPLOAD_SLOTS})`, positiveInt)
    .option('--seed-time <duration>', `stop seeding after this long (30m, 2h, 1d)${download ? '; implies --seed' : ''}`, parseDuration)
    .option('--json-events', 'print one JSON object per event on stdout (and nothing else there)');
}

/** Adds --select, --only, --exclude, --sequential and --stdout (SelectionOptions). */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--select <list>', 'download only these files, numbered as `pytor info` lists them (1,3-5)')
    .option('--only <glob>', 'download only files whose path inside the torrent matches (repeatable)', collectGlob, [])
    .option('--exclude <glob>', 'skip files whose path inside the torrent matches (repeatable)', collectGlob, [])
    .option('--sequential', 'fetch pieces in file order (to play while downloading)')
    .option('--stdout', 'write the file (single-file torrent or one selected file) to stdout in order as it arrives; implies --sequential');
}

function collectGlob(value: string, previous: string[]): string[] {
  if (value.length === 0) throw new InvalidArgumentError('expected a glob pattern');
  try {
    picomatch(value);
  } catch (err) {
    throw new InvalidArgumentError(`bad glob: ${(err as Error).message}`);
  }
  return [...previous, value];
}

function matcher(glob: string): PathPredicate {
  const m = picomatch(glob, { dot: true });
  return (path) => m(path);
}

/**
 * The per-file flags for a torrent, or undefined when every file is wanted. Used once the
 * torrent is known (after the metadata of a magnet link). Throws SelectionError / CliError.
 */
export function selectionFor(opts: SelectionOptions, t: Torrent): boolean[] | undefined {
  const none = opts.select === undefined && opts.only.length === 0 && opts.exclude.length === 0;
  const wanted = none ? undefined : selectFiles(t, {
    indices: opts.select === undefined ? undefined : parseSelect(opts.select, t.files.length),
    only: opts.only.map(matcher),
    exclude: opts.exclude.map(matcher),
  });
  if (opts.stdout) streamedFile(t, wanted);
  return wanted;
}

/** The file --stdout writes: the only file, or the only selected file with data. */
export function streamedFile(t: Torrent, wanted: readonly boolean[] | undefined): number {
  const candidates = [...t.files.entries()].filter(([i, f]) => !f.padding && f.length > 0 && (wanted?.[i] ?? true));
  if (candidates.length !== 1) {
    throw new CliError(`--stdout needs a single-file torrent or exactly one selected file (${candidates.length} selected); use --select N`);
  }
  return candidates[0]![0];
}
