import { resolve } from 'node:path';
import type { Command } from 'commander';
import createDebug from 'debug';
import { makeKey, makePeerId, TrackerTiers } from '../tracker/index.js';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import type { PeerAddress } from '../peer/address.js';
import { Announcer } from '../session/announcer.js';
import { PeerListener } from '../session/listener.js';
import { TorrentSession, type SessionStats } from '../session/session.js';
import { CliError, EXIT } from './errors.js';
import { loadTorrent } from './load.js';
import { fetchMagnetForTransfer, isMagnet } from './magnet.js';
import { addConnectionOptions, addOutputOptions, positiveNumber, type ConnectionOptions, type OutputOptions } from './options.js';
import { ProgressView } from './progress.js';
import { formatBytes, formatDuration, safeText } from './terminal.js';

const log = createDebug('pytor:cli');

export interface TransferOptions extends ConnectionOptions, OutputOptions {
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
  addOutputOptions(command, 'print nothing but errors')
    .option('--save-torrent <file>', 'with a magnet link: also write the fetched metadata as a .torrent')
    .action(async (source: string, opts: TransferOptions & { saveTorrent?: string }) => {
      if (isMagnet(source)) {
        // Metadata first (BEP 9), then the same transfer as for a .torrent.
        const { torrent, peers } = await fetchMagnetForTransfer(source, opts);
        process.exitCode = await runTransfer(torrent, { ...opts, peer: peers });
        return;
      }
      if (opts.saveTorrent !== undefined) throw new CliError('--save-torrent is for magnet links');
      const torrent = await loadTorrent(source);
      process.exitCode = await runTransfer(torrent, opts);
    });
}

/** Downloads (and optionally seeds) one torrent; resolves to the exit code. */
export async function runTransfer(torrent: Torrent, opts: TransferOptions): Promise<number> {
  const out = process.stdout;
  const view = new ProgressView(opts.json ? 'none' : ProgressView.modeFor(out, opts.quiet ?? false), out, '');
  if (new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []).urls().length === 0 && opts.peer.length === 0) {
    throw new CliError(opts.trackers ? 'the torrent lists no trackers; give peers with --peer host:port' : 'no peers: give --peer host:port');
  }
  const run = await runSession(torrent, {
    dir: opts.output,
    peer: opts.peer,
    maxPeers: opts.maxPeers,
    port: opts.port,
    bind: opts.bind,
    trackers: opts.trackers,
    keepSeeding: opts.seed ?? false,
    seedRatio: opts.seed ? opts.seedRatio : undefined,
    view,
    showNotes: !opts.quiet && !opts.json,
  });
  const { stats, seconds, interrupted } = run;
  const complete = stats.verified === stats.length;
  if (opts.json) {
    out.write(`${JSON.stringify(summaryJson(torrent, stats, seconds, complete, interrupted, resolve(opts.output)))}\n`);
  } else if (!opts.quiet) {
    out.write(`${summaryText(torrent, stats, seconds, complete)}\n`);
  }
  return interrupted ? EXIT.interrupted : complete ? EXIT.ok : EXIT.error;
}

/** What a command shows while its session runs (ProgressView for download, a status line for seed). */
export interface TransferView {
  update(s: SessionStats): void;
  finish(s: SessionStats): void;
  note(text: string): void;
  /** The check of existing data, piece by piece. */
  checking?(done: number, total: number): void;
}

export interface SessionRunOptions {
  /** The folder holding (or receiving) the torrent's data. */
  readonly dir: string;
  readonly peer: readonly PeerAddress[];
  readonly maxPeers: number;
  readonly port: number;
  readonly bind?: string;
  readonly trackers: boolean;
  /** Serve existing data only; nothing in `dir` is created or changed (`pytor seed`). */
  readonly readOnly?: boolean;
  /** Keep running once complete, until Ctrl-C or the seed ratio. */
  readonly keepSeeding: boolean;
  /** Stop once uploaded >= seedRatio x size. */
  readonly seedRatio?: number;
  readonly view: TransferView;
  /** Print notes (port fallback) through the view. */
  readonly showNotes: boolean;
  /** Called once the existing data is checked, before any announce; may throw to refuse. */
  readonly afterCheck?: (s: SessionStats, port: number) => void;
}

export interface SessionRunResult {
  readonly stats: SessionStats;
  readonly seconds: number;
  readonly interrupted: boolean;
  readonly port: number;
}

/**
 * The life of one torrent on the command line, shared by `download` and `seed`: the listener,
 * the session, the announcer, the view and Ctrl-C. Resolves once stopped (complete, ratio
 * reached or interrupted) with everything closed and the trackers told `stopped`.
 */
export async function runSession(torrent: Torrent, opts: SessionRunOptions): Promise<SessionRunResult> {
  const started = Date.now();
  const view = opts.view;
  const peerId = makePeerId();
  const session = new TorrentSession({
    torrent,
    outDir: resolve(opts.dir),
    peerId,
    maxPeers: opts.maxPeers,
    seed: opts.keepSeeding,
    readOnly: opts.readOnly,
  });
  const listener = new PeerListener((hex) => (hex === torrent.infoHashHex ? session.acceptIncoming.bind(session) : undefined));
  const tiers = new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []);

  const port = await listener.listen(opts.port, opts.bind);
  session.listenPort = port;
  if (opts.port !== 0 && port !== opts.port && opts.showNotes) view.note(`port ${opts.port} is taken; listening on ${port}`);
  const announcer = new Announcer(
    tiers,
    { infoHash: torrent.infoHash, peerId, port, key: makeKey() },
    {
      counters: () => {
        const s = session.stats();
        return { uploaded: s.uploaded, downloaded: s.downloaded, left: s.length - s.verified };
      },
      onPeers: (peers) => session.addPeers(peers),
      onError: (message) => log('tracker: %s', message),
    },
  );
  let announcing = false;
  let stopping: Promise<void> | undefined;
  const stopSession = () => (stopping ??= session.stop());

  let interrupted = false;
  let failure: Error | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const finished = new Promise<void>((resolveDone) => {
    const done = () => resolveDone();
    session.on('complete', () => {
      // Data that was complete on disk from the start was never "completed" by this run.
      if (announcing) announcer.completed();
      if (!opts.keepSeeding) done();
    });
    session.on('error', (err: Error) => {
      failure = err;
      done();
    });
    session.on('warning', (message: string) => log('warning: %s', message));
    session.on('checking', (n: number, total: number) => view.checking?.(n, total));
    session.on('tick', () => {
      const s = session.stats();
      view.update(s);
      if (opts.keepSeeding && opts.seedRatio !== undefined && session.isComplete && s.uploaded >= opts.seedRatio * s.length) done();
      // With no tracker to ask again, a download whose every peer has failed would wait forever.
      if (!announcer.hasTrackers && !opts.readOnly && !session.isComplete && s.peersKnown === 0) {
        failure = new CliError('no peers left: every peer given failed to connect or was dropped');
        done();
      }
    });
    session.on('piece', () => view.update(session.stats()));
    onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) {
        // A second Ctrl-C means now: verified pieces are on disk already.
        process.exit(EXIT.interrupted);
      }
      interrupted = true;
      log('%s: stopping', signal);
      // Stops a long check of existing data too, not only the transfer.
      void stopSession();
      done();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  try {
    try {
      await session.start();
    } catch (err) {
      // Ctrl-C during the check closes the storage under it: that is a stop, not a failure.
      if (!interrupted) throw err;
    }
    if (!interrupted) {
      opts.afterCheck?.(session.stats(), port);
      session.addPeers(opts.peer);
      announcing = true;
      announcer.start();
      await finished;
    }
  } finally {
    // Later signals (while the trackers hear `stopped`) still reach onSignal: a second Ctrl-C exits at once.
    await Promise.all([stopSession(), announcing ? announcer.stop() : undefined, listener.close()]);
    if (onSignal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const stats = session.stats();
  view.finish(stats);
  if (failure) throw failure;
  return { stats, seconds: (Date.now() - started) / 1000, interrupted, port };
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
