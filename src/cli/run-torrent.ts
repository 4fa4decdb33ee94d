// The command line's way of driving the engine: one Client with one torrent, its events shown
// through a view, Ctrl-C turned into a clean stop. Shared by download, seed and info --fetch.
import createDebug from 'debug';
import { Client, defaultStateDir, type AddOptions, type ClientDhtOptions, type ClientTorrent, type Discovery } from '../client/index.js';
import type { Magnet } from '../magnet/index.js';
import type { EncryptionPolicy } from '../mse/index.js';
import type { Torrent } from '../metainfo/index.js';
import type { MetadataStats } from '../session/metadata.js';
import type { SessionStats } from '../session/session.js';
import { EXIT } from './errors.js';
import { safeText } from './terminal.js';

const log = createDebug('pytor:cli');

/** What a command shows while its torrent runs (ProgressView for download, a status line for seed). */
export interface TransferView {
  update(s: SessionStats, discovery?: Discovery): void;
  finish(s: SessionStats): void;
  note(text: string): void;
  /** The check of existing data, piece by piece. */
  checking?(done: number, total: number): void;
  /** A magnet link's metadata fetch. */
  metadata?(s: MetadataStats, discovery?: Discovery): void;
}

export interface RunOptions extends AddOptions {
  readonly port: number;
  readonly bind?: string;
  readonly stateDir?: string;
  /** The DHT, when on. */
  readonly dht?: ClientDhtOptions;
  readonly encryption?: EncryptionPolicy;
  readonly utp?: boolean;
  readonly view: TransferView;
  /** Print notes (port fallback) through the view. */
  readonly showNotes: boolean;
  /** Once the existing data is checked, before any announce; may throw to refuse. */
  readonly afterCheck?: (s: SessionStats, port: number) => void;
  /** The metadata of a magnet link arrived (for --save-torrent). */
  readonly onMetadata?: (t: Torrent) => Promise<void>;
  /** Give up after this many seconds (metadata fetch only). */
  readonly timeoutS?: number;
  /** Rate limits in bytes per second (0 or absent: none), for the whole client. */
  readonly limitDown?: number;
  readonly limitUp?: number;
  /** The engine torrent, as soon as it exists (for --json-events and --stdout to listen to). */
  readonly onTorrent?: (t: ClientTorrent, end: () => void) => void;
  /** Once the run is over, before the engine closes (the data is still readable). */
  readonly beforeClose?: (interrupted: boolean) => Promise<void>;
}

export interface RunResult {
  readonly torrent: Torrent | undefined;
  readonly stats: SessionStats | undefined;
  readonly seconds: number;
  readonly interrupted: boolean;
  readonly timedOut: boolean;
  readonly port: number;
  readonly metadata: MetadataStats | undefined;
}

/**
 * Runs one torrent to its end: finished by policy (complete, ratio, seed time, metadata only),
 * failed, or interrupted by Ctrl-C / SIGTERM. Resolves once the trackers heard `stopped` and the
 * resume data is saved; throws CliError when the torrent failed.
 */
export async function runTorrent(source: { torrent: Torrent } | { magnet: Magnet }, opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const view = opts.view;
  const client = await Client.open({
    stateDir: opts.stateDir ?? defaultStateDir(),
    port: opts.port,
    bind: opts.bind,
    dht: opts.dht,
    encryption: opts.encryption,
    utp: opts.utp,
    limitDown: opts.limitDown,
    limitUp: opts.limitUp,
  });
  if (opts.port !== 0 && client.port !== opts.port && opts.showNotes) view.note(`port ${opts.port} is taken; listening on ${client.port}`);
  let t: ClientTorrent;
  try {
    t = client.add(source, opts);
  } catch (err) {
    await client.close();
    throw err;
  }

  let interrupted = false;
  let timedOut = false;
  let failure: Error | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let metadata: MetadataStats | undefined;
  const finished = new Promise<void>((resolveDone) => {
    const done = () => resolveDone();
    t.on('finished', done);
    t.on('error', (err: Error) => {
      failure = err;
      done();
    });
    t.on('checking', (n: number, total: number) => view.checking?.(n, total));
    t.on('metadata-progress', (s: MetadataStats) => view.metadata?.(s, t.discovery()));
    t.on('metadata', (torrent: Torrent) => {
      if (opts.onMetadata) {
        opts.onMetadata(torrent).catch((err: Error) => {
          failure = err;
          done();
        });
      }
    });
    t.on('checked', (s: SessionStats) => {
      try {
        opts.afterCheck?.(s, client.port);
      } catch (err) {
        failure = err as Error;
        done();
      }
    });
    t.on('tick', (s: SessionStats) => view.update(s, t.discovery()));
    // A web seed given up on is worth a line (the session already moved on to other sources).
    t.on('warning', (message: string, source?: string) => {
      if (source !== 'webseed') return;
      view.note('');
      process.stderr.write(`pytor: warning: ${safeText(message)}\n`);
    });
    t.on('piece', () => t.session && view.update(t.session.stats()));
    if (opts.timeoutS !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        done();
      }, opts.timeoutS * 1000);
    }
    onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) {
        // A second Ctrl-C means now: verified pieces are on disk already.
        process.exit(EXIT.interrupted);
      }
      interrupted = true;
      log('%s: stopping', signal);
      // Stops a long check of existing data too, not only the transfer.
      void t.stop();
      done();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    opts.onTorrent?.(t, done);
  });

  // start() returns once the torrent transfers (or fails); a timeout or Ctrl-C may end the run
  // before that, and the stop below ends start() too.
  const starting = t.start();
  try {
    await finished;
  } finally {
    if (timer) clearTimeout(timer);
    // Later signals (while the trackers hear `stopped`) still reach onSignal: a second Ctrl-C exits at once.
    metadata = t.status().metadata;
    await opts.beforeClose?.(interrupted).catch((err: Error) => {
      failure ??= err;
    });
    await client.close();
    await starting;
    if (onSignal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const stats = t.session?.stats();
  if (stats) view.finish(stats);
  if (failure) throw failure;
  return { torrent: t.torrent, stats, seconds: (Date.now() - started) / 1000, interrupted, timedOut, port: client.port, metadata };
}
