/**
 * The daemon's torrent list in the state folder: one bencoded file per torrent,
 * `<state>/torrents/<info-hash>.torrent-entry`, written atomically, so adding, stopping or
 * removing one torrent rewrites only its own small file and a crash loses at most the change
 * in flight. Each entry holds what is needed to add the torrent again after a restart: the
 * .torrent's bytes (or the magnet link, plus the info dict once fetched), the folder, whether
 * it is paused, and its small id (stable across restarts). Resume data stays in ResumeStore.
 */
import { open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import { decode, encode, isBytes, isDict, isInteger, isList, type BValue } from '../bencode/index.js';
import { parseMagnet } from '../magnet/index.js';
import { parseTorrent, torrentFromInfo } from '../metainfo/index.js';
import type { PeerAddress } from '../peer/address.js';
import { writeFileAtomic } from './state-dir.js';
import type { TorrentSource } from './torrent.js';

const log = createDebug('pytor:client');

/** An entry larger than this is not read (a .torrent is bounded by 16 MiB where it is accepted). */
export const MAX_ENTRY_BYTES = 20 * 1024 * 1024;
/** Entries read at most (the daemon is meant for hundreds). */
export const MAX_ENTRIES = 10_000;
const SUFFIX = '.torrent-entry';

export interface RegistryEntry {
  /** Small positive id, stable across restarts. */
  readonly id: number;
  /** Lowercase hex v1 info-hash: the file's name. */
  readonly infoHashHex: string;
  /** Seconds since the epoch. */
  readonly addedAt: number;
  readonly outDir: string;
  /** Stopped by the user: comes back stopped. */
  readonly paused: boolean;
  /** When it finished downloading (seconds since the epoch). */
  readonly doneAt?: number;
  /** The whole .torrent file it was added from. */
  readonly metainfo?: Buffer;
  /** The magnet link it was added from. */
  readonly magnet?: string;
  /** For a magnet: the info dict, once fetched (no second fetch after a restart). */
  readonly info?: Buffer;
  /** Per-torrent peer limit, when set. */
  readonly maxPeers?: number;
  /** Files not to download (indices into the torrent's file list, pad files included). */
  readonly unwanted?: readonly number[];
}

export class TorrentRegistry {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(readonly stateDir: string) {}

  get folder(): string {
    return join(this.stateDir, 'torrents');
  }

  pathOf(infoHashHex: string): string {
    return join(this.folder, `${infoHashHex}${SUFFIX}`);
  }

  /** Every readable entry, by id; unreadable ones are reported in `problems` and left on disk. */
  async load(): Promise<{ entries: RegistryEntry[]; problems: string[] }> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
      throw err;
    }
    const entries: RegistryEntry[] = [];
    const problems: string[] = [];
    const ids = new Set<number>();
    for (const name of names.filter((n) => n.endsWith(SUFFIX)).sort().slice(0, MAX_ENTRIES)) {
      const path = join(this.folder, name);
      try {
        const entry = decodeEntry(await readBounded(path));
        if (`${entry.infoHashHex}${SUFFIX}` !== name) throw new Error(`holds ${entry.infoHashHex}`);
        if (ids.has(entry.id)) throw new Error(`id ${entry.id} is taken by another entry`);
        ids.add(entry.id);
        entries.push(entry);
      } catch (err) {
        const problem = `${name}: ${(err as Error).message}`;
        log('registry: %s', problem);
        problems.push(problem);
      }
    }
    entries.sort((a, b) => a.id - b.id);
    return { entries, problems };
  }

  /** Writes the entry (writes of one torrent happen in call order, never interleaved). */
  save(entry: RegistryEntry): Promise<void> {
    return this.serial(entry.infoHashHex, () => writeFileAtomic(this.pathOf(entry.infoHashHex), encodeEntry(entry)));
  }

  remove(infoHashHex: string): Promise<void> {
    return this.serial(infoHashHex, () => rm(this.pathOf(infoHashHex), { force: true }));
  }

  private serial(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.writes.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.writes.set(key, next);
    const clear = () => {
      if (this.writes.get(key) === next) this.writes.delete(key);
    };
    next.then(clear, clear);
    return next;
  }
}

async function readBounded(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_ENTRY_BYTES) throw new Error(`${size} bytes is too large`);
    return await readFile(handle);
  } finally {
    await handle.close();
  }
}

/** Bencode of an entry. Pure. */
export function encodeEntry(e: RegistryEntry): Buffer {
  return encode({
    version: 1,
    id: e.id,
    'info-hash': e.infoHashHex,
    'added-at': e.addedAt,
    'out-dir': e.outDir,
    paused: e.paused ? 1 : 0,
    'done-at': e.doneAt,
    metainfo: e.metainfo,
    magnet: e.magnet,
    info: e.info,
    'max-peers': e.maxPeers,
    unwanted: e.unwanted && e.unwanted.length > 0 ? [...e.unwanted] : undefined,
  });
}

/** An entry from its bencode; throws an Error naming the bad field. Pure. */
export function decodeEntry(bytes: Uint8Array): RegistryEntry {
  const v = decode(bytes);
  if (!isDict(v)) throw new Error('not a dictionary');
  const int = (key: string, required: boolean): number | undefined => {
    const x: BValue | undefined = v.get(key);
    if (x === undefined && !required) return undefined;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error(`${key}: expected a whole number`);
    return x;
  };
  const bytesOf = (key: string): Buffer | undefined => {
    const x = v.get(key);
    if (x === undefined) return undefined;
    if (!isBytes(x)) throw new Error(`${key}: expected bytes`);
    return x;
  };
  const text = (key: string, required: boolean): string | undefined => {
    const b = bytesOf(key);
    if (b === undefined && required) throw new Error(`${key}: missing`);
    return b?.toString('utf8');
  };
  if (int('version', true) !== 1) throw new Error('version: unknown');
  const id = int('id', true)!;
  if (id < 1) throw new Error('id: must be positive');
  const infoHashHex = text('info-hash', true)!;
  if (!/^[0-9a-f]{40}$/.test(infoHashHex)) throw new Error('info-hash: expected 40 lowercase hex digits');
  const outDir = text('out-dir', true)!;
  if (!outDir.startsWith('/')) throw new Error('out-dir: expected an absolute path');
  const metainfo = bytesOf('metainfo');
  const magnet = text('magnet', false);
  if (metainfo === undefined && magnet === undefined) throw new Error('neither metainfo nor magnet');
  const paused = v.get('paused');
  if (!isInteger(paused)) throw new Error('paused: expected 0 or 1');
  return {
    id,
    infoHashHex,
    addedAt: int('added-at', true)!,
    outDir,
    paused: paused === 1,
    doneAt: int('done-at', false),
    metainfo,
    magnet,
    info: bytesOf('info'),
    maxPeers: int('max-peers', false),
    ...optional('unwanted', indexList(v.get('unwanted'))),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
}

function indexList(x: BValue | undefined): number[] | undefined {
  if (x === undefined) return undefined;
  if (!isList(x) || x.length > 1_000_000) throw new Error('unwanted: expected a list of file indices');
  return x.map((n) => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error('unwanted: expected whole numbers');
    return n;
  });
}

/** What a registry entry (or an RPC add) turns into for Client.add. Throws the parser's error for bad input. */
export function sourceOfEntry(e: Pick<RegistryEntry, 'metainfo' | 'magnet' | 'info'>): { source: TorrentSource; peers: readonly PeerAddress[] } {
  if (e.metainfo) return { source: { torrent: parseTorrent(e.metainfo) }, peers: [] };
  const magnet = parseMagnet(e.magnet ?? '');
  // A magnet's x.pe peers go to the session too, not only to the metadata fetch: after a
  // restart with the info dict known, they are the only peers such a torrent may have.
  const peers = magnet.peers.map((p) => ({ host: p.host, port: p.port }));
  if (e.info) return { source: { torrent: torrentFromInfo(e.info, magnet.trackers) }, peers };
  return { source: { magnet }, peers };
}

/** The daemon's own settings that session-set may change (kept across restarts). */
export interface DaemonSettings {
  readonly downloadDir?: string;
  readonly startAddedTorrents?: boolean;
  readonly peerLimitPerTorrent?: number;
}

const SETTINGS_FILE = 'daemon-settings.benc';

/** Reads `<state>/daemon-settings.benc`; missing or unreadable gives {} (logged). */
export async function loadDaemonSettings(stateDir: string): Promise<DaemonSettings> {
  let v: BValue;
  try {
    v = decode(await readBounded(join(stateDir, SETTINGS_FILE)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log('daemon settings unreadable: %s', (err as Error).message);
    return {};
  }
  if (!isDict(v)) return {};
  const dir = v.get('download-dir');
  const start = v.get('start-added-torrents');
  const limit = v.get('peer-limit-per-torrent');
  return {
    downloadDir: isBytes(dir) && dir.toString('utf8').startsWith('/') ? dir.toString('utf8') : undefined,
    startAddedTorrents: start === 0 || start === 1 ? start === 1 : undefined,
    peerLimitPerTorrent: typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0 ? limit : undefined,
  };
}

export function saveDaemonSettings(stateDir: string, s: DaemonSettings): Promise<void> {
  return writeFileAtomic(
    join(stateDir, SETTINGS_FILE),
    encode({
      'download-dir': s.downloadDir,
      'start-added-torrents': s.startAddedTorrents === undefined ? undefined : s.startAddedTorrents ? 1 : 0,
      'peer-limit-per-torrent': s.peerLimitPerTorrent,
    }),
  );
}
