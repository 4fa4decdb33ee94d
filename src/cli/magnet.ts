// Magnet links on the command line: fetch the info dict from peers (BEP 9) before a download,
// `--save-torrent`, and what `pytor info` prints for a magnet link.
import { writeFile } from 'node:fs/promises';
import { encode } from '../bencode/index.js';
import { formatMagnet, parseMagnet, type Magnet } from '../magnet/index.js';
import { trackerTiers, type Torrent } from '../metainfo/index.js';
import type { ClientDhtOptions } from '../client/index.js';
import type { PeerAddress } from '../peer/address.js';
import { CliError, EXIT } from './errors.js';
import { runTorrent } from './run-torrent.js';
import { StatusLine } from './status-line.js';
import { describeMetadata } from './metadata-text.js';
import { safeText } from './terminal.js';

export function isMagnet(source: string): boolean {
  return /^magnet:\?/i.test(source.trim());
}

export interface MagnetFetchOptions {
  readonly peer: readonly PeerAddress[];
  readonly port: number;
  readonly bind?: string;
  readonly maxPeers?: number;
  /** Ask the magnet's `tr` trackers for peers (default true). */
  readonly trackers?: boolean;
  /** Print a progress line (only on a terminal). */
  readonly progress?: boolean;
  /** Give up after this many seconds (default: never, until Ctrl-C). */
  readonly timeoutS?: number;
  /** The DHT, when on. */
  readonly dht?: ClientDhtOptions;
}

/** Fetches and verifies the metadata of a magnet link; throws CliError when it cannot. */
export async function fetchMagnet(uri: string, opts: MagnetFetchOptions): Promise<Torrent> {
  const magnet = parseMagnet(uri);
  const useTrackers = opts.trackers ?? true;
  if ((!useTrackers || magnet.trackers.length === 0) && opts.peer.length + magnet.peers.length === 0 && !opts.dht) {
    throw new CliError(useTrackers ? 'the magnet link lists no trackers; give peers with --peer host:port (or leave the DHT on)' : 'no peers: give --peer host:port');
  }
  const line = opts.progress && process.stdout.isTTY ? new StatusLine(process.stdout) : undefined;
  const run = await runTorrent(
    { magnet },
    {
      // Nothing is written: the run ends as soon as the metadata is here.
      outDir: '.',
      metadataOnly: true,
      peers: opts.peer,
      maxPeers: opts.maxPeers,
      port: opts.port,
      bind: opts.bind,
      trackers: useTrackers,
      timeoutS: opts.timeoutS,
      dht: opts.dht,
      view: { update: () => undefined, finish: () => undefined, note: () => undefined, metadata: (s) => line?.show(describeMetadata(s)) },
      showNotes: false,
    },
  ).finally(() => line?.clear());
  if (run.torrent) return run.torrent;
  if (run.interrupted) throw new CliError('interrupted while fetching metadata', EXIT.interrupted);
  const s = run.metadata;
  throw new CliError(`no metadata after ${opts.timeoutS} s (${s?.peersConnected ?? 0} peers connected, ${s?.peersWithMetadata ?? 0} offering it)`);
}

/**
 * A .torrent holding the fetched info dict byte for byte (so its info-hash is the magnet's),
 * with the magnet's trackers as announce / announce-list.
 */
export function torrentFileBytes(torrent: Torrent): Buffer {
  const tiers = trackerTiers(torrent);
  // Keys in sorted order, the info dict spliced in raw: re-encoding it could change its hash.
  const parts: Buffer[] = [Buffer.from('d')];
  const first = tiers[0]?.[0];
  if (first !== undefined) parts.push(encode('announce'), encode(first));
  if (tiers.length > 1 || (tiers[0]?.length ?? 0) > 1) parts.push(encode('announce-list'), encode(tiers));
  parts.push(encode('info'), torrent.infoBytes, Buffer.from('e'));
  return Buffer.concat(parts);
}

export async function saveTorrentFile(path: string, torrent: Torrent): Promise<void> {
  try {
    await writeFile(path, torrentFileBytes(torrent));
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

/** The magnet link of a torrent: info-hash, name, trackers in tier order, web seeds. */
export function magnetOf(t: Torrent): string {
  return formatMagnet({ infoHashHex: t.infoHashHex, name: t.name, trackers: trackerTiers(t).flat(), webSeeds: [...t.urlList] });
}

export function magnetJson(m: Magnet) {
  return {
    infoHash: m.infoHashHex,
    name: m.name ?? null,
    trackers: [...m.trackers],
    peers: m.peers.map((p) => (p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`)),
    webSeeds: [...m.webSeeds],
    selectOnly: m.selectOnly ? [...m.selectOnly] : null,
  };
}

export function magnetText(m: Magnet): string {
  const j = magnetJson(m);
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(15)}${value}`);
  row('name', j.name === null ? '(not in the link)' : safeText(j.name));
  row('info hash', j.infoHash);
  if (j.trackers.length === 0) row('trackers', 'none');
  else {
    lines.push('trackers:');
    for (const url of j.trackers) lines.push(`  ${safeText(url)}`);
  }
  if (j.peers.length > 0) row('peers', j.peers.map(safeText).join(', '));
  if (j.webSeeds.length > 0) {
    lines.push('web seeds:');
    for (const url of j.webSeeds) lines.push(`  ${safeText(url)}`);
  }
  if (j.selectOnly) row('select only', j.selectOnly.join(','));
  lines.push('(size and files come with the metadata: use --fetch)');
  return `${lines.join('\n')}\n`;
}
