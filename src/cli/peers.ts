// `pytor peers FILE.torrent`: ask every tracker once, list what they say and the peers they give.
import { networkInterfaces } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import {
  announce as announceAny,
  formatPeer,
  makeKey,
  makePeerId,
  TrackerError,
  TrackerTiers,
  type AnnounceFn,
  type AnnounceParams,
  type AnnounceResult,
  type TrackerPeer,
} from '../tracker/index.js';
import { CliError } from './errors.js';
import { loadTorrent } from './load.js';
import { isMagnet } from './magnet.js';
import { parseMagnet } from '../magnet/index.js';
import { jsonText } from './json-text.js';
import type { ClientDhtOptions } from '../client/index.js';
import { defaultStateDir } from '../client/index.js';
import { addDhtOptions, dhtSettings, type DhtCliOptions } from './options.js';
import { askDht, type DhtReport } from './peers-dht.js';
import { safeText } from './terminal.js';

export const DEFAULT_TIMEOUT_S = 15;
export const DEFAULT_PORT = 6881;
/** How long the `stopped` announces may take after the answers are in; nobody waits on them. */
const STOP_TIMEOUT_MS = 3_000;
/** Peers asked of each tracker: enough to see a swarm, well under any reply cap. */
const NUMWANT = 200;

export interface PeersOptions {
  timeout: number;
  port: number;
  json?: boolean;
  /** Look the torrent up in the DHT too (public torrents only). */
  dht?: ClientDhtOptions;
  stateDir?: string;
}

export interface TrackerReport {
  url: string;
  result?: AnnounceResult;
  error?: string;
}

export function registerPeers(program: Command): void {
  const command = program
    .command('peers')
    .description("ask the torrent's trackers and the DHT for peers and list them")
    .argument('<torrent>', '.torrent file or magnet link (its `tr` trackers)')
    .option('--timeout <seconds>', 'give up on trackers and the DHT after this many seconds', parseSeconds, DEFAULT_TIMEOUT_S)
    .option('--port <port>', 'port to announce to the trackers', parsePort, DEFAULT_PORT)
    .option('--json', 'print one JSON object')
    .option('--state-dir <dir>', 'where the DHT table is kept (default: $XDG_STATE_HOME/pytor or ~/.local/state/pytor)');
  addDhtOptions(command).action(async (source: string, opts: Omit<PeersOptions, 'dht'> & DhtCliOptions) => {
    await runPeers(isMagnet(source) ? magnetTarget(source) : await loadTorrent(source), { ...opts, dht: dhtSettings(opts) });
  });
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('expected seconds between 0 and 3600');
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
}

export interface PeersIo {
  write(text: string): void;
  /** Colour the status words (only when writing to a terminal). */
  color: boolean;
  /** Injected in tests; the real tracker client otherwise. */
  announce?: AnnounceFn;
}

const defaultIo = (): PeersIo => ({
  write: (s) => void process.stdout.write(s),
  color: process.stdout.isTTY === true && !process.env.NO_COLOR,
});

/** Does the work of the command; throws CliError (exit 1) when no tracker answered. */
/** What announcing needs of a torrent; a magnet link gives it too (size unknown). */
export type PeersTarget = Pick<Torrent, 'infoHash' | 'announce' | 'announceList' | 'length' | 'private'>;

/** A magnet's trackers, each its own tier; `left` is unknown, so a small non-zero stand-in (0 would make us a seed). */
function magnetTarget(uri: string): PeersTarget {
  const m = parseMagnet(uri);
  return { infoHash: m.infoHash, announce: m.trackers[0], announceList: m.trackers.map((u) => [u]), length: 16 * 1024, private: false };
}

export async function runPeers(torrent: PeersTarget, opts: PeersOptions, io: PeersIo = defaultIo()): Promise<void> {
  const tiers = new TrackerTiers(trackerTiers(torrent)).list();
  // BEP 27: a private torrent's peers come from its trackers only.
  const dht = torrent.private ? undefined : opts.dht;
  if (tiers.length === 0 && !dht) throw new CliError(torrent.private ? 'the torrent lists no trackers' : 'the torrent lists no trackers (and the DHT is off)');
  const announce = io.announce ?? announceAny;
  const params: AnnounceParams = {
    infoHash: torrent.infoHash,
    peerId: makePeerId(),
    key: makeKey(),
    port: opts.port,
    uploaded: 0,
    downloaded: 0,
    left: torrent.length,
    event: 'started',
    numwant: NUMWANT,
  };
  const [reports, dhtReport] = await Promise.all([
    askAll(tiers, params, opts.timeout * 1000, announce).then(async (r) => {
      await sayStopped(r, params, Math.min(STOP_TIMEOUT_MS, opts.timeout * 1000), announce);
      return r;
    }),
    dht ? askDht(torrent.infoHash, dht, opts.stateDir ?? defaultStateDir(), opts.timeout * 1000) : undefined,
  ]);

  const peers = uniquePeers(reports, dhtReport, ownEndpoints(opts.port));
  io.write(opts.json ? `${jsonText(toJson(reports, peers, dhtReport))}\n` : toText(reports, peers, io.color, dhtReport));

  const answered = reports.filter((r) => r.result).length;
  if (answered === 0 && !(dhtReport && dhtReport.nodes > 0)) {
    const only = reports.length === 1 ? reports[0] : undefined;
    if (reports.length === 0) throw new CliError(`no peers found: ${dhtReport?.error ?? 'the DHT was not reached'}`);
    throw new CliError(only?.error ? `no tracker answered: ${only.error}` : `none of the ${reports.length} trackers answered`);
  }
}

/** Where each peer was heard of: `tracker`, `dht` or both. */
export type PeerSources = Map<string, ('tracker' | 'dht')[]>;

/**
 * Tiers in parallel; within a tier, trackers one after another in BEP 12 order. Every
 * tracker is asked (this command is about seeing them all), under one overall deadline.
 */
export async function askAll(tiers: string[][], params: AnnounceParams, timeoutMs: number, announce: AnnounceFn): Promise<TrackerReport[]> {
  const deadline = Date.now() + timeoutMs;
  const perTier = await Promise.all(
    tiers.map(async (tier) => {
      const out: TrackerReport[] = [];
      for (const [i, url] of tier.entries()) {
        // The first of each tier starts now: it gets the whole deadline (not 999 ms of it).
        const left = i === 0 ? timeoutMs : deadline - Date.now();
        if (left <= 0) {
          out.push({ url, error: `not asked: the ${timeoutMs / 1000}s deadline passed` });
          continue;
        }
        try {
          out.push({ url, result: await announce(url, params, { timeoutMs: left }) });
        } catch (err) {
          out.push({ url, error: describe(err) });
        }
      }
      return out;
    }),
  );
  return perTier.flat();
}

/** Tells each tracker that answered that we are gone, so it does not hand out a ghost peer. */
async function sayStopped(reports: TrackerReport[], params: AnnounceParams, timeoutMs: number, announce: AnnounceFn): Promise<void> {
  await Promise.allSettled(
    reports
      .filter((r) => r.result)
      .map((r) => announce(r.url, { ...params, event: 'stopped', numwant: 0 }, { timeoutMs, udpMaxRetries: 0 })),
  );
}

function describe(err: unknown): string {
  if (err instanceof TrackerError) return err.detail;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The addresses this machine answers on, with the port we announced: trackers (opentracker,
 * bittorrent-tracker) list the announcing client among the peers, and we are not a peer of ours.
 */
function ownEndpoints(port: number): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) own.add(formatPeer({ host: a.address.replace(/%.*$/, ''), port }));
  }
  return own;
}

function uniquePeers(reports: readonly TrackerReport[], dht: DhtReport | undefined, exclude: ReadonlySet<string>): PeerSources {
  const seen: PeerSources = new Map();
  const note = (key: string, source: 'tracker' | 'dht') => {
    if (exclude.has(key)) return;
    const sources = seen.get(key) ?? [];
    if (!sources.includes(source)) sources.push(source);
    seen.set(key, sources);
  };
  for (const r of reports) for (const p of r.result?.peers ?? []) note(formatPeer(p), 'tracker');
  for (const key of dht?.peers ?? []) note(key, 'dht');
  return seen;
}

function peerStrings(peers: readonly TrackerPeer[]): string[] {
  return [...new Set(peers.map(formatPeer))];
}

export function toJson(reports: readonly TrackerReport[], peers: PeerSources, dht?: DhtReport) {
  return {
    trackers: reports.map((r) => ({
      url: r.url,
      ok: r.result !== undefined,
      error: r.error ?? null,
      interval: r.result?.interval ?? null,
      complete: r.result?.complete ?? null,
      incomplete: r.result?.incomplete ?? null,
      warning: r.result?.warning ?? null,
      peers: r.result ? peerStrings(r.result.peers) : [],
    })),
    dht: dht ? { ok: dht.nodes > 0, nodes: dht.nodes, error: dht.error ?? null, peers: [...dht.peers] } : null,
    peers: [...peers.keys()],
    peerSources: Object.fromEntries(peers),
  };
}

export function toText(reports: readonly TrackerReport[], peers: PeerSources, color: boolean, dht?: DhtReport): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  for (const r of reports) {
    const url = safeText(r.url);
    if (r.result) {
      const x = r.result;
      const parts = [
        `${x.complete ?? '?'} seeders`,
        `${x.incomplete ?? '?'} leechers`,
        `interval ${x.interval}s`,
        `${x.peers.length} peers`,
      ];
      if (x.warning !== undefined) parts.push(`warning: ${safeText(x.warning)}`);
      lines.push(`${paint('32', 'ok')}    ${url}  ${parts.join(', ')}`);
    } else {
      lines.push(`${paint('31', 'error')} ${url}  ${safeText(r.error ?? 'unknown error')}`);
    }
  }
  if (dht) {
    const what = dht.nodes > 0 ? `${dht.nodes} nodes, ${dht.peers.length} peers` : safeText(dht.error ?? 'not reached');
    lines.push(`${paint(dht.nodes > 0 ? '32' : '31', 'dht')}   ${what}`);
  }
  // Each peer with where it was heard of.
  for (const [peer, sources] of peers) lines.push(`${safeText(peer)}  ${sources.join(',')}`);
  return `${lines.join('\n')}\n`;
}
