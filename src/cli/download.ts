import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import createDebug from 'debug';
import { makeKey, makePeerId, TrackerTiers } from '../tracker/index.js';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import { parseAddress, type PeerAddress } from '../peer/address.js';
import { Announcer } from '../session/announcer.js';
import { PeerListener } from '../session/listener.js';
import { TorrentSession, type SessionStats } from '../session/session.js';
import { CliError, EXIT } from './errors.js';
import { loadTorrent } from './load.js';
import { ProgressView } from './progress.js';
import { formatBytes, formatDuration, safeText } from './terminal.js';

const log = createDebug('pytor:cli');

export interface TransferOptions {
  readonly output: string;
  readonly peer: PeerAddress[];
  readonly maxPeers: number;
  readonly port: number;
  readonly bind?: string;
  readonly quiet?: boolean;
  readonly json?: boolean;
  readonly seed?: boolean;
  readonly seedRatio?: number;
  readonly trackers: boolean;
}

export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('download a torrent into a folder, verifying every piece')
    .argument('<torrent>', '.torrent file')
    .option('-o, --output <dir>', 'folder to download into', '.')
    .option('-p, --peer <host:port>', 'connect to this peer too (repeatable)', collectPeer, [])
    .option('--max-peers <n>', 'most peer connections at once', positiveInt, 50)
    .option('--port <n>', 'TCP port to listen on for peers (a free one if taken)', portNumber, 6881)
    .option('--bind <address>', 'address to listen on (default: all)')
    .option('--no-trackers', 'do not contact trackers (use --peer)')
    .option('--seed', 'keep seeding after the download completes, until Ctrl-C')
    .option('--seed-ratio <r>', 'with --seed: stop after uploading r times the size', positiveNumber)
    .option('-q, --quiet', 'print nothing but errors')
    .option('--json', 'print a JSON summary at the end instead of text')
    .action(async (source: string, opts: TransferOptions) => {
      const torrent = await loadTorrent(source);
      process.exitCode = await runTransfer(torrent, opts);
    });
}

/** Downloads (and optionally seeds) one torrent; resolves to the exit code. */
export async function runTransfer(torrent: Torrent, opts: TransferOptions): Promise<number> {
  const started = Date.now();
  const out = process.stdout;
  const view = new ProgressView(opts.json ? 'none' : ProgressView.modeFor(out, opts.quiet ?? false), out, '');
  const peerId = makePeerId();
  const session = new TorrentSession({ torrent, outDir: resolve(opts.output), peerId, maxPeers: opts.maxPeers, seed: opts.seed });
  const listener = new PeerListener((hex) => (hex === torrent.infoHashHex ? session.acceptIncoming.bind(session) : undefined));
  const tiers = new TrackerTiers(opts.trackers ? trackerTiers(torrent) : []);
  if (!tiers.urls().length && opts.peer.length === 0) {
    throw new CliError(opts.trackers ? 'the torrent lists no trackers; give peers with --peer host:port' : 'no peers: give --peer host:port');
  }

  const port = await listener.listen(opts.port, opts.bind);
  if (opts.port !== 0 && port !== opts.port && !opts.quiet && !opts.json) view.note(`port ${opts.port} is taken; listening on ${port}`);
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

  let interrupted = false;
  let failure: Error | undefined;
  const finished = new Promise<void>((resolveDone) => {
    const done = () => resolveDone();
    session.on('complete', () => {
      announcer.completed();
      if (!opts.seed) done();
    });
    session.on('error', (err: Error) => {
      failure = err;
      done();
    });
    session.on('warning', (message: string) => log('warning: %s', message));
    session.on('tick', () => {
      const s = session.stats();
      view.update(s);
      if (opts.seed && opts.seedRatio !== undefined && session.isComplete && s.uploaded >= opts.seedRatio * s.length) done();
    });
    session.on('piece', () => view.update(session.stats()));
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) {
        // A second Ctrl-C means now: verified pieces are on disk already.
        process.exit(EXIT.interrupted);
      }
      interrupted = true;
      log('%s: stopping', signal);
      done();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  try {
    await session.start();
    session.addPeers(opts.peer);
    announcer.start();
    await finished;
  } finally {
    await Promise.all([session.stop(), announcer.stop(), listener.close()]);
  }
  const stats = session.stats();
  view.finish(stats);
  if (failure) throw failure;
  const complete = stats.verified === stats.length;
  const seconds = (Date.now() - started) / 1000;
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

function summaryJson(t: Torrent, s: SessionStats, seconds: number, complete: boolean, interrupted: boolean, output: string) {
  return {
    infoHash: t.infoHashHex,
    name: t.name,
    output,
    complete,
    interrupted,
    length: s.length,
    verified: s.verified,
    pieceCount: s.pieceCount,
    piecesHave: s.piecesHave,
    downloaded: s.downloaded,
    uploaded: s.uploaded,
    seconds: Math.round(seconds * 1000) / 1000,
    averageRate: seconds > 0 ? Math.round(s.downloaded / seconds) : 0,
    hashFailures: s.hashFailures,
  };
}

function collectPeer(value: string, previous: PeerAddress[]): PeerAddress[] {
  const address = parseAddress(value);
  if (!address) throw new InvalidArgumentError('expected host:port or [ipv6]:port');
  return [...previous, address];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}
