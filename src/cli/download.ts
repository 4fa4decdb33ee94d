import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseMagnet, type Magnet } from '../magnet/index.js';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import type { SessionStats } from '../session/session.js';
import { TrackerTiers } from '../tracker/index.js';
import { CliError, EXIT } from './errors.js';
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
import { ProgressView } from './progress.js';
import { runTorrent } from './run-torrent.js';
import { formatBytes, formatDuration, safeText } from './terminal.js';

export interface TransferOptions extends ConnectionOptions, OutputOptions, StateOptions, DhtCliOptions {
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
    .option('--seed-ratio <r>', 'with --seed: stop after uploading r times the size', positiveNumber);
  addDhtOptions(command);
  addStateOptions(command);
  addOutputOptions(command, 'print nothing but errors')
    .option('--save-torrent <file>', 'with a magnet link: also write the fetched metadata as a .torrent')
    .action(async (source: string, opts: TransferOptions & { saveTorrent?: string }) => {
      if (isMagnet(source)) {
        // Metadata first (BEP 9), then the same transfer as for a .torrent, in one engine torrent.
        const magnet = parseMagnet(source);
        requireSources(magnet.trackers.length > 0 && opts.trackers, opts.peer.length + magnet.peers.length > 0 || opts.dht, opts.trackers, 'magnet link');
        process.exitCode = await runTransfer({ magnet }, opts);
        return;
      }
      if (opts.saveTorrent !== undefined) throw new CliError('--save-torrent is for magnet links');
      const torrent = await loadTorrent(source);
      const dhtUsable = opts.dht && !torrent.private;
      requireSources(new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []).urls().length > 0, opts.peer.length > 0 || dhtUsable, opts.trackers, 'torrent');
      process.exitCode = await runTransfer({ torrent }, opts);
    });
}

/** Without trackers and peers there is nobody to ask: say so at once rather than wait forever. */
function requireSources(hasTrackers: boolean, hasPeers: boolean, trackersOn: boolean, what: string): void {
  if (hasTrackers || hasPeers) return;
  const fix = 'give peers with --peer host:port (or leave the DHT on)';
  throw new CliError(trackersOn ? `the ${what} lists no trackers; ${fix}` : `no peers: ${fix}`);
}

/** Downloads (and optionally seeds) one torrent; resolves to the exit code. */
export async function runTransfer(source: { torrent: Torrent } | { magnet: Magnet }, opts: TransferOptions & { saveTorrent?: string }): Promise<number> {
  const out = process.stdout;
  const mode = opts.json ? 'none' : ProgressView.modeFor(out, opts.quiet ?? false);
  const view = new ProgressView(mode, out, '');
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
    seed: { keepSeeding: opts.seed ?? false, ratio: opts.seed ? opts.seedRatio : undefined },
    view,
    showNotes: !opts.quiet && !opts.json,
    onMetadata: opts.saveTorrent === undefined ? undefined : (t) => saveTorrentFile(opts.saveTorrent!, t),
  });
  const { stats, seconds, interrupted } = run;
  const torrent = run.torrent;
  if (!torrent || !stats) {
    // Interrupted before the metadata of a magnet link arrived.
    if (!opts.quiet && !opts.json) out.write('stopped before the metadata arrived\n');
    return EXIT.interrupted;
  }
  const complete = stats.verified === stats.length;
  if (opts.json) {
    out.write(`${JSON.stringify(summaryJson(torrent, stats, seconds, complete, interrupted, resolve(opts.output)))}\n`);
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
