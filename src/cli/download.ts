import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseMagnet, type Magnet } from '../magnet/index.js';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import type { ClientTorrent } from '../client/index.js';
import type { SessionStats } from '../session/session.js';
import { TrackerTiers } from '../tracker/index.js';
import { CliError, EXIT } from './errors.js';
import { jsonText } from './json-text.js';
import { loadTorrent } from './load.js';
import { isMagnet, saveTorrentFile } from './magnet.js';
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
import { JsonEvents } from './json-events.js';
import { ProgressView } from './progress.js';
import { runTorrent } from './run-torrent.js';
import { OrderedWriter } from './stdout-stream.js';
import { addLimitOptions, addSelectionOptions, selectionFor, streamedFile, type LimitOptions, type SelectionOptions } from './transfer-options.js';
import { formatBytes, formatDuration, safeText } from './terminal.js';

export interface TransferOptions extends ConnectionOptions, OutputOptions, StateOptions, DhtCliOptions, Partial<SelectionOptions>, LimitOptions {
  readonly output: string;
  readonly seed?: boolean;
  readonly seedRatio?: number;
}

export function registerDownload(program: Command): void {
  const command = program
    .command('download')
    .description('download a torrent into a folder, verifying every piece')
    .argument('<torrent>', '.torrent file or magnet link')
    .option('-o, --output <dir>', 'folder to download into', '.');
  addConnectionOptions(command, {
    peer: 'connect to this peer too (repeatable)',
    bind: 'address to listen on (default: all)',
    noTrackers: 'do not contact trackers (use --peer)',
  })
    .option('--seed', 'keep seeding after the download completes, until Ctrl-C')
    .option('--seed-ratio <r>', 'with --seed or --seed-time: stop after uploading r times the size', positiveNumber);
  addDhtOptions(command);
  addStateOptions(command);
  addSelectionOptions(command);
  addLimitOptions(command, true);
  addOutputOptions(command, 'print nothing but errors')
    .option('--save-torrent <file>', 'with a magnet link: also write the fetched metadata as a .torrent')
    .action(async (source: string, opts: TransferOptions & { saveTorrent?: string }) => {
      if (isMagnet(source)) {
        // Metadata first (BEP 9), then the same transfer as for a .torrent, in one engine torrent.
        const magnet = parseMagnet(source);
        requireSources(magnet.trackers.length > 0 && opts.trackers, opts.peer.length + magnet.peers.length > 0 || opts.dht, opts.trackers, 'magnet link');
        checkOutputFlags(opts);
        process.exitCode = await runTransfer({ magnet }, opts);
        return;
      }
      if (opts.saveTorrent !== undefined) throw new CliError('--save-torrent is for magnet links');
      const torrent = await loadTorrent(source);
      // Web seeds and the DHT are sources too: such a torrent needs no tracker or peer.
      const hasSources = opts.peer.length > 0 || torrent.urlList.length > 0 || (opts.dht && !torrent.private);
      requireSources(new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []).urls().length > 0, hasSources, opts.trackers, 'torrent');
      checkOutputFlags(opts);
      selectionFor(selectionOpts(opts), torrent); // refuse a bad selection before anything starts
      process.exitCode = await runTransfer({ torrent }, opts);
    });
}

/** Without trackers and peers there is nobody to ask: say so at once rather than wait forever. */
function requireSources(hasTrackers: boolean, hasPeers: boolean, trackersOn: boolean, what: string): void {
  if (hasTrackers || hasPeers) return;
  const fix = 'give peers with --peer host:port (or leave the DHT on)';
  throw new CliError(trackersOn ? `the ${what} lists no trackers; ${fix}` : `no peers: ${fix}`);
}

/** stdout carries one thing at a time: the file, the events, or the --json summary. */
function checkOutputFlags(opts: TransferOptions): void {
  const owners = [opts.stdout && '--stdout', opts.jsonEvents && '--json-events', opts.json && '--json'].filter(Boolean);
  if (owners.length > 1) throw new CliError(`${owners.join(' and ')} both write to stdout; use one`);
}

function selectionOpts(opts: TransferOptions): SelectionOptions {
  return { select: opts.select, only: opts.only ?? [], exclude: opts.exclude ?? [], sequential: opts.sequential, stdout: opts.stdout };
}

/** Downloads (and optionally seeds) one torrent; resolves to the exit code. */
export async function runTransfer(source: { torrent: Torrent } | { magnet: Magnet }, opts: TransferOptions & { saveTorrent?: string }): Promise<number> {
  // With --stdout the file owns stdout and people read stderr; with --json-events, scripts own stdout.
  const out = opts.stdout ? process.stderr : process.stdout;
  const events = opts.jsonEvents ? new JsonEvents(process.stdout) : undefined;
  const mode = opts.json || events ? 'none' : ProgressView.modeFor(out, opts.quiet ?? false);
  const view = new ProgressView(mode, out, '');
  const sel = selectionOpts(opts);
  let writer: OrderedWriter | undefined;
  let engine: ClientTorrent | undefined;
  const startStream = (t: ClientTorrent, torrent: Torrent, end: () => void) => {
    let index: number;
    try {
      index = streamedFile(torrent, selectionFor(sel, torrent));
    } catch {
      return; // the engine refuses the same selection and says why
    }
    writer = new OrderedWriter(t, torrent, index, process.stdout, end);
  };
  const seedTime = opts.seedTime;
  const keepSeeding = (opts.seed ?? false) || seedTime !== undefined;
  const run = await runTorrent(source, {
    outDir: opts.output,
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
    seed: { keepSeeding, ratio: keepSeeding ? opts.seedRatio : undefined, timeMs: seedTime },
    select: (t) => selectionFor(sel, t),
    sequential: (opts.sequential ?? false) || (opts.stdout ?? false),
    limitDown: opts.limitDown,
    limitUp: opts.limitUp,
    uploadSlots: opts.uploadSlots,
    onTorrent: (t, end) => {
      engine = t;
      events?.attach(t);
      if (!opts.stdout) return;
      if (t.torrent) startStream(t, t.torrent, end);
      else t.once('metadata', (torrent: Torrent) => startStream(t, torrent, end));
    },
    beforeClose: async (interrupted) => {
      if (!writer) return;
      // Finish the file on stdout (every piece is on disk by now) unless the run was cut short.
      if (interrupted || writer.pipeClosed || !engine?.session?.isComplete) writer.stop();
      await writer.done();
    },
    view,
    showNotes: !opts.quiet && !opts.json && !events,
    onMetadata: opts.saveTorrent === undefined ? undefined : (t) => saveTorrentFile(opts.saveTorrent!, t),
  });
  const { stats, seconds, interrupted } = run;
  const torrent = run.torrent;
  if (!torrent || !stats) {
    // Interrupted before the metadata of a magnet link arrived.
    if (!opts.quiet && !opts.json && !events) view.note('stopped before the metadata arrived');
    return EXIT.interrupted;
  }
  const complete = stats.verified === stats.length;
  if (writer?.pipeClosed) {
    // The reader (a player) went away: a normal way for a stream to end, not an error.
    if (!opts.quiet) process.stderr.write('pytor: stdout closed; download stopped\n');
    return EXIT.ok;
  }
  if (events) {
    // Everything was said as events.
  } else if (opts.json) {
    out.write(`${jsonText(summaryJson(torrent, stats, seconds, complete, interrupted, resolve(opts.output)), 0)}\n`);
  } else if (!opts.quiet) {
    out.write(`${summaryText(torrent, stats, seconds, complete)}\n`);
  }
  return interrupted ? EXIT.interrupted : complete ? EXIT.ok : EXIT.error;
}

function summaryText(t: Torrent, s: SessionStats, seconds: number, complete: boolean): string {
  const rate = seconds > 0 ? s.downloaded / seconds : 0;
  const what = complete ? 'complete' : `stopped at ${((100 * s.verified) / s.length).toFixed(1)}%`;
  return (
    `${safeText(t.name)}: ${what}, ${formatBytes(s.verified)} of ${formatBytes(s.length)} verified; ` +
    `downloaded ${formatBytes(s.downloaded)} in ${formatDuration(seconds)} (${formatBytes(Math.round(rate))}/s), ` +
    `uploaded ${formatBytes(s.uploaded)}`
  );
}

/** The session counters in both commands' --json summaries: one set of field names. */
export function countsJson(s: SessionStats) {
  return {
    length: s.length,
    verified: s.verified,
    pieceCount: s.pieceCount,
    piecesHave: s.piecesHave,
    downloaded: s.downloaded,
    uploaded: s.uploaded,
  };
}

function summaryJson(t: Torrent, s: SessionStats, seconds: number, complete: boolean, interrupted: boolean, output: string) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    output,
    complete,
    interrupted,
    ...countsJson(s),
    seconds: Math.round(seconds * 1000) / 1000,
    averageRate: seconds > 0 ? Math.round(s.downloaded / seconds) : 0,
    hashFailures: s.hashFailures,
  };
}
