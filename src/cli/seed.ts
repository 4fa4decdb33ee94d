// `pytor seed FILE.torrent -d DIR`: check the data in DIR, announce, serve until Ctrl-C (or a
// ratio). The transfer itself is the engine's (runTorrent) with read-only storage.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import type { SessionStats } from '../session/session.js';
import { TrackerTiers } from '../tracker/index.js';
import { countsJson } from './download.js';
import { CliError, EXIT } from './errors.js';
import { jsonText } from './json-text.js';
import { JsonEvents } from './json-events.js';
import { loadTorrent } from './load.js';
import {
  addConnectionOptions,
  addDhtOptions,
  addOutputOptions,
  addStateOptions,
  dhtSettings,
  positiveNumber,
  type ConnectionOptions,
  type DhtCliOptions,
  type OutputOptions,
  type StateOptions,
} from './options.js';
import { PLAIN_LINE_INTERVAL_MS, ProgressView, type ProgressMode } from './progress.js';
import type { Discovery } from '../client/index.js';
import { runTorrent, type TransferView } from './run-torrent.js';
import { StatusLine } from './status-line.js';
import { addLimitOptions, type LimitOptions } from './transfer-options.js';
import { formatBytes, formatDuration, safeText } from './terminal.js';

export interface SeedOptions extends ConnectionOptions, OutputOptions, StateOptions, DhtCliOptions, LimitOptions {
  readonly dir: string;
  readonly seedRatio?: number;
}

export function registerSeed(program: Command): void {
  const command = program
    .command('seed')
    .description('serve a torrent from data already on disk (checked first, never modified)')
    .argument('<torrent>', '.torrent file')
    .option('-d, --dir <dir>', 'folder that holds the data (the file, or the folder named after the torrent)', '.');
  addConnectionOptions(command, {
    peer: 'connect out to this peer too (repeatable)',
    bind: 'address to listen on (default: all, IPv4 and IPv6)',
    noTrackers: 'do not contact trackers (peers connect in, or use --peer)',
  }).option('--seed-ratio <r>', 'stop after uploading r times the size', positiveNumber);
  addDhtOptions(command);
  addStateOptions(command);
  addLimitOptions(command, false);
  addOutputOptions(command, 'print nothing but errors and warnings')
    .action(async (source: string, opts: SeedOptions) => {
      const torrent = await loadTorrent(source);
      process.exitCode = await runSeed(torrent, opts);
    });
}

/** Seeds one torrent from `opts.dir`; resolves to the exit code. */
export async function runSeed(torrent: Torrent, opts: SeedOptions): Promise<number> {
  const dir = resolve(opts.dir);
  await requireFolder(dir);
  const out = process.stdout;
  if (opts.json && opts.jsonEvents) throw new CliError('--json and --json-events both write to stdout; use one');
  const events = opts.jsonEvents ? new JsonEvents(out) : undefined;
  const mode: ProgressMode = opts.json || events ? 'none' : ProgressView.modeFor(out, opts.quiet ?? false);
  const view = new SeedView(mode, out, safeText(torrent.name));
  const showNotes = !opts.quiet && !opts.json && !events;
  const hasTrackers = new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []).urls().length > 0;

  const run = await runTorrent({ torrent }, {
    outDir: dir,
    peers: opts.peer,
    maxPeers: opts.maxPeers,
    port: opts.port,
    bind: opts.bind,
    trackers: opts.trackers,
    stateDir: opts.stateDir,
    recheck: opts.recheck,
    dht: dhtSettings(opts),
    encryption: opts.encryption,
    utp: opts.utp,
    readOnly: true,
    seed: { keepSeeding: true, ratio: opts.seedRatio, timeMs: opts.seedTime },
    limitUp: opts.limitUp,
    uploadSlots: opts.uploadSlots,
    onTorrent: (t) => events?.attach(t),
    view,
    showNotes,
    afterCheck: (s, port) => {
      const name = safeText(torrent.name);
      // Nothing valid is almost always the wrong folder: refuse rather than serve nothing.
      if (s.piecesHave === 0) {
        throw new CliError(`no data of ${name} found in ${safeText(dir)} (0 of ${s.pieceCount} pieces); is -d the folder that holds it?`);
      }
      // A partial seed still helps a swarm; say so plainly, even under --quiet and --json.
      if (s.piecesHave < s.pieceCount) {
        const pct = ((100 * s.verified) / s.length).toFixed(1);
        view.note('');
        process.stderr.write(
          `pytor: warning: ${safeText(dir)} holds ${s.piecesHave} of ${s.pieceCount} pieces (${pct}%) of ${name}; seeding those only\n`,
        );
      }
      if (showNotes) {
        view.note(`seeding ${name} (${formatBytes(s.verified)} of ${formatBytes(s.length)}) on port ${port}`);
        if (!hasTrackers && opts.peer.length === 0) view.note(opts.dht && !torrent.private ? 'no trackers: announced to the DHT; waiting for peers' : 'no trackers: waiting for peers to connect');
      }
    },
  });
  const { seconds, interrupted, stats } = run;
  if (!stats) return EXIT.interrupted; // stopped before the data was even opened
  if (events) {
    // Everything was said as events.
  } else if (opts.json) {
    out.write(`${jsonText(seedSummaryJson(torrent, stats, seconds, interrupted, dir), 0)}\n`);
  } else if (!opts.quiet) {
    out.write(`${seedSummaryText(torrent, stats, seconds)}\n`);
  }
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

async function requireFolder(dir: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `data folder ${safeText(dir)} does not exist` : `cannot read data folder ${safeText(dir)}: ${code ?? String(err)}`);
  }
  if (!isDir) throw new CliError(`${safeText(dir)} is not a folder (-d takes the folder that holds the data)`);
}

function ratioOf(s: SessionStats): number {
  return s.length > 0 ? s.uploaded / s.length : 0;
}

function seedSummaryText(t: Torrent, s: SessionStats, seconds: number): string {
  const rate = seconds > 0 ? s.uploaded / seconds : 0;
  const held = s.piecesHave === s.pieceCount ? 'complete' : `${((100 * s.verified) / s.length).toFixed(1)}% of the data`;
  return (
    `${safeText(t.name)}: seeded ${held} for ${formatDuration(seconds)}; ` +
    `uploaded ${formatBytes(s.uploaded)} (${formatBytes(Math.round(rate))}/s, ratio ${ratioOf(s).toFixed(2)})`
  );
}

function seedSummaryJson(t: Torrent, s: SessionStats, seconds: number, interrupted: boolean, dir: string) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    dir,
    complete: s.verified === s.length,
    interrupted,
    ...countsJson(s),
    ratio: Math.round(ratioOf(s) * 1000) / 1000,
    seconds: Math.round(seconds * 1000) / 1000,
    averageUploadRate: seconds > 0 ? Math.round(s.uploaded / seconds) : 0,
  };
}

/** A terminal status line is redrawn at most this often. */
const REDRAW_MS = 200;

/**
 * What a person watches while seeding: one status line redrawn in place on a terminal
 * (checking progress, then peers and upload rate), a plain line every few seconds when piped.
 */
export class SeedView implements TransferView {
  private lastAt = 0;
  private readonly line: StatusLine;

  constructor(
    private readonly mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream,
    private readonly name: string,
  ) {
    this.line = new StatusLine(stream);
  }

  checking(done: number, total: number, now = Date.now()): void {
    const last = done === total;
    if (!last && !this.due(now)) return;
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
    this.show(`checking ${this.name}: ${pct}% (${done}/${total} pieces)`, last);
  }

  update(s: SessionStats, _discovery?: Discovery, now = Date.now()): void {
    if (!this.due(now)) return;
    this.show(statusText(s), false);
  }

  finish(s: SessionStats): void {
    if (this.mode === 'none') return;
    this.show(statusText(s), true);
  }

  note(text: string): void {
    if (this.mode === 'none') return;
    this.line.clear();
    if (text) this.stream.write(`${text}\n`);
  }

  private due(now: number): boolean {
    if (this.mode === 'none') return false;
    if (now - this.lastAt < (this.mode === 'bar' ? REDRAW_MS : PLAIN_LINE_INTERVAL_MS)) return false;
    this.lastAt = now;
    return true;
  }

  /** On a terminal, redraws the line (`final` leaves it and moves on); otherwise one plain line. */
  private show(text: string, final: boolean): void {
    if (this.mode === 'none') return;
    if (this.mode === 'lines') {
      this.stream.write(`${text}\n`);
      return;
    }
    this.line.show(text);
    if (final) this.line.keep();
  }
}

function statusText(s: SessionStats): string {
  const have = s.piecesHave === s.pieceCount ? '' : ` | have ${((100 * s.verified) / s.length).toFixed(1)}%`;
  return (
    `seeding | up ${formatBytes(Math.round(s.uploadRate))}/s | uploaded ${formatBytes(s.uploaded)} ` +
    `(ratio ${ratioOf(s).toFixed(2)}) | peers ${s.peersConnected}/${s.peersKnown}${have}`
  );
}
