// `pytor create PATH -o out.torrent`: wording, progress and the output file; the work is in metainfo/create.
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { CreateError, createTorrent, isValidPieceLength, type CreatedTorrent } from '../metainfo/create.js';
import { CliError, EXIT } from './errors.js';
import { jsonText } from './json-text.js';
import { formatBytes, safeText } from './terminal.js';

interface CreateCliOptions {
  output?: string;
  tracker: string[];
  pieceLength?: number;
  private?: boolean;
  comment?: string;
  webSeed: string[];
  date: boolean;
  json?: boolean;
  force?: boolean;
}

/** "262144", "256K", "256KiB", "1M", "1MiB" -> bytes; must be a power of two in 16 KiB..16 MiB. */
export function parsePieceLength(text: string): number {
  const m = /^(\d+)\s*(?:([kKmM])(?:i?[bB])?)?$/.exec(text.trim());
  const unit = m?.[2]?.toLowerCase();
  const n = m ? Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1) : NaN;
  if (!isValidPieceLength(n)) {
    throw new InvalidArgumentError('must be a power of two from 16K to 16M (e.g. 262144, 256K, 1M)');
  }
  return n;
}

/** Each --tracker value is one tier; commas inside it put several URLs in that tier. */
export function trackerTiers(values: readonly string[]): string[][] {
  return values.map((v) => v.split(',').map((u) => u.trim()).filter((u) => u.length > 0)).filter((t) => t.length > 0);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('make a .torrent file from a file or a folder')
    .argument('<path>', 'the file or folder to share (a folder gives a multi-file torrent named after it)')
    .option('-o, --output <file>', 'where to write the .torrent (default: <name>.torrent here)')
    .option(
      '-t, --tracker <url>',
      'tracker announce URL; repeat for more tiers (each --tracker is a new tier, ' +
        'comma-separated URLs in one --tracker share a tier)',
      collect,
      [],
    )
    .option('-l, --piece-length <bytes>', 'piece size, a power of two from 16K to 16M (default: from the total size)', parsePieceLength)
    .option('-p, --private', 'set the private flag (BEP 27: trackers only, no DHT or PEX)')
    .option('-c, --comment <text>', 'a comment stored in the torrent')
    .option('-w, --web-seed <url>', 'web seed URL (BEP 19); repeatable, commas also separate URLs', collect, [])
    .option('--no-date', 'leave out the creation date (same input, same bytes)')
    .option('--json', 'print {infoHash, name, length, pieceLength, pieceCount, path} as JSON')
    .option('-f, --force', 'overwrite the output file if it exists')
    .action(async (input: string, opts: CreateCliOptions) => {
      await runCreate(input, opts);
    });
}

async function runCreate(input: string, opts: CreateCliOptions): Promise<void> {
  const inputPath = path.resolve(input);
  const outputPath = path.resolve(opts.output ?? `${path.basename(inputPath)}.torrent`);
  // Checked before hashing so a long hash is not wasted; the write itself is exclusive too.
  if (!opts.force && (await exists(outputPath))) {
    throw new CliError(`${outputPath} exists; use --force to overwrite it`, EXIT.error);
  }
  const progress = makeProgress(Boolean(opts.json));
  let created: CreatedTorrent;
  try {
    created = await createTorrent(inputPath, {
      trackers: trackerTiers(opts.tracker),
      pieceLength: opts.pieceLength,
      private: opts.private,
      comment: opts.comment,
      webSeeds: opts.webSeed.flatMap((w) => w.split(',')).map((u) => u.trim()).filter((u) => u.length > 0),
      noDate: !opts.date,
      onProgress: progress.update,
    });
  } catch (err) {
    // A bad URL is a usage error; everything else (files, symlinks) keeps its own message.
    if (err instanceof CreateError && err.code === 'EOPTION') throw new CliError(err.message, EXIT.usage);
    throw err;
  } finally {
    progress.stop();
  }
  try {
    await writeFile(outputPath, created.torrent, { flag: opts.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError(`${outputPath} exists; use --force to overwrite it`, EXIT.error);
    throw new CliError(`cannot write ${outputPath}: ${code ?? String(err)}`, EXIT.error);
  }
  if (opts.json) {
    process.stdout.write(
      `${jsonText({
        infoHash: created.infoHashHex,
        name: created.name,
        length: created.length,
        pieceLength: created.pieceLength,
        pieceCount: created.pieceCount,
        path: outputPath,
      }, 0)}\n`,
    );
    return;
  }
  const fileCount = created.files.length;
  process.stdout.write(
    [
      `created ${safeText(outputPath)}`,
      `  name:      ${safeText(created.name)}`,
      `  info-hash: ${created.infoHashHex}`,
      `  size:      ${formatBytes(created.length)} in ${fileCount} file${fileCount === 1 ? '' : 's'}`,
      `  pieces:    ${created.pieceCount} of ${formatBytes(created.pieceLength)}`,
      '',
    ].join('\n'),
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

interface Progress {
  readonly update: (done: number, total: number) => void;
  readonly stop: () => void;
}

/** A bar on a terminal; a line per 10% otherwise (logs); nothing with --json. */
function makeProgress(quiet: boolean): Progress {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'hashing [{bar}] {percentage}% | {done} of {size}',
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total) => {
        const payload = { done: formatBytes(done), size: formatBytes(total) };
        if (!started) {
          bar.start(total, done, payload);
          started = true;
        } else bar.update(done, payload);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  return {
    update: (done, total) => {
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      process.stderr.write(`hashing: ${tenth * 10}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
    },
    stop: () => undefined,
  };
}
