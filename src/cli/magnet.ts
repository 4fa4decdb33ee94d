// Magnet links on the command line: fetch the info dict from peers (BEP 9) before a download,
// `--save-torrent`, and what `pytor info` prints for a magnet link.
import { writeFile } from 'node:fs/promises';
import createDebug from 'debug';
import { encode } from '../bencode/index.js';
import { formatMagnet, parseMagnet, type Magnet } from '../magnet/index.js';
import { torrentFromInfo, trackerTiers, type Torrent } from '../metainfo/index.js';
import type { PeerAddress } from '../peer/address.js';
import { Announcer } from '../session/announcer.js';
import { PeerListener } from '../session/listener.js';
import { MetadataFetcher, type MetadataStats } from '../session/metadata.js';
import { makeKey, makePeerId, TrackerTiers } from '../tracker/index.js';
import { CliError, EXIT } from './errors.js';
import { StatusLine } from './status-line.js';
import { formatBytes, safeText } from './terminal.js';

const log = createDebug('pytor:cli');

/** `left` told to trackers while the size is unknown: not 0, which would make us a seed. */
const UNKNOWN_LEFT = 16 * 1024;

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
}

export interface FetchedMagnet {
  readonly magnet: Magnet;
  readonly torrent: Torrent;
  /** Every usable peer address met while fetching: the download session dials them again. */
  readonly peers: PeerAddress[];
}

/** Fetches and verifies the metadata of a magnet link; throws CliError when it cannot. */
export async function fetchMagnet(uri: string, opts: MagnetFetchOptions): Promise<FetchedMagnet> {
  const magnet = parseMagnet(uri);
  const useTrackers = opts.trackers ?? true;
  const tiers = new TrackerTiers(useTrackers ? magnet.trackers.map((u) => [u]) : []);
  const direct = [...opts.peer, ...magnet.peers];
  if (tiers.urls().length === 0 && direct.length === 0) {
    throw new CliError(useTrackers ? 'the magnet link lists no trackers; give peers with --peer host:port' : 'no peers: give --peer host:port');
  }
  const peerId = makePeerId();
  let port = 0;
  const fetcher = new MetadataFetcher({ infoHash: magnet.infoHash, peerId, maxPeers: opts.maxPeers, listenPort: () => port });
  const listener = new PeerListener((hex) => (hex === magnet.infoHashHex ? fetcher.acceptIncoming.bind(fetcher) : undefined));
  port = await listener.listen(opts.port, opts.bind);
  const announcer = new Announcer(
    tiers,
    { infoHash: magnet.infoHash, peerId, port, key: makeKey() },
    {
      counters: () => ({ uploaded: 0, downloaded: 0, left: UNKNOWN_LEFT }),
      onPeers: (peers) => fetcher.addPeers(peers),
      onError: (message) => log('tracker: %s', message),
    },
  );
  const line = opts.progress && process.stdout.isTTY ? new StatusLine(process.stdout) : undefined;
  fetcher.on('warning', (message: string) => log('metadata: %s', message));
  fetcher.on('progress', (s: MetadataStats) => line?.show(describeProgress(s)));

  let interrupted = false;
  let timer: NodeJS.Timeout | undefined;
  const onSignal = () => {
    interrupted = true;
    fetcher.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let info: Buffer;
  try {
    fetcher.addPeers(direct);
    announcer.start();
    if (opts.timeoutS !== undefined) timer = setTimeout(() => fetcher.stop(), opts.timeoutS * 1000);
    try {
      info = await fetcher.fetch();
    } catch {
      if (interrupted) throw new CliError('interrupted while fetching metadata', EXIT.interrupted);
      const s = fetcher.stats();
      throw new CliError(`no metadata after ${opts.timeoutS} s (${s.peersConnected} peers connected, ${s.peersWithMetadata} offering it)`);
    }
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    line?.clear();
    fetcher.stop();
    await Promise.all([announcer.stop(), listener.close()]);
  }
  let torrent: Torrent;
  try {
    torrent = torrentFromInfo(info, magnet.trackers);
  } catch (err) {
    // The bytes hash to the info-hash, so this is the torrent itself being unusable (unsafe paths, v2-only).
    throw new CliError(`the metadata of this magnet link is invalid: ${(err as Error).message}`);
  }
  return { magnet, torrent, peers: fetcher.knownPeers() };
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

function describeProgress(s: MetadataStats): string {
  const have = s.size === undefined ? 'size unknown' : `${s.piecesHave}/${s.pieceCount} pieces of ${formatBytes(s.size)}`;
  return `fetching metadata: ${s.peersConnected} peers connected (${s.peersWithMetadata} with metadata), ${have}`;
}

export interface MagnetTransferOptions {
  readonly peer: readonly PeerAddress[];
  readonly port: number;
  readonly bind?: string;
  readonly maxPeers: number;
  readonly trackers: boolean;
  readonly quiet?: boolean;
  readonly json?: boolean;
  readonly saveTorrent?: string;
}

/** `download MAGNET`: the metadata (saved when asked), and every peer to dial for the data. */
export async function fetchMagnetForTransfer(uri: string, opts: MagnetTransferOptions): Promise<{ torrent: Torrent; peers: PeerAddress[] }> {
  const fetched = await fetchMagnet(uri, {
    peer: opts.peer,
    port: opts.port,
    bind: opts.bind,
    maxPeers: opts.maxPeers,
    trackers: opts.trackers,
    progress: !opts.quiet && !opts.json,
  });
  if (opts.saveTorrent !== undefined) await saveTorrentFile(opts.saveTorrent, fetched.torrent);
  const seen = new Set<string>();
  const peers: PeerAddress[] = [];
  for (const p of [...opts.peer, ...fetched.magnet.peers, ...fetched.peers]) {
    const key = `${p.host} ${p.port}`;
    if (!seen.has(key)) peers.push(p), seen.add(key);
  }
  return { torrent: fetched.torrent, peers };
}
