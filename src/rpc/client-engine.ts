// The RpcEngine over the real engine (src/client): the daemon's torrents, each a ClientTorrent
// plus its registry entry (the state folder's record of how to add it again after a restart).
// Snapshots are built from the ClientTorrent's session stats and its Torrent; actions map onto
// Client.add / restart / remove. What the engine cannot do yet (file priorities, per-torrent
// limits, moving data, reannounce) is refused with a one-line error, never faked.
import { statfs } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import createDebug from 'debug';
import {
  deleteTorrentData,
  loadDaemonSettings,
  saveDaemonSettings,
  sourceOfEntry,
  type DaemonSettings,
  type AddOptions as ClientAddOptions,
  type Client,
  type ClientTorrent,
  type RegistryEntry,
  type TorrentRegistry,
  type TorrentSource,
} from '../client/index.js';
import type {
  AddOptions,
  AddResult,
  AddSource,
  FileChanges,
  RpcEngine,
  SessionChanges,
  SessionSettings,
  SessionTotals,
  TorrentLimits,
  TorrentQuery,
  TorrentSnapshot,
} from './engine.js';
import { bitfieldOf, bytesOfPieces, changeSelection, filesOf, peerSnapshot, rpcState, selectionOf, trackersOf, trackerUrlsOf } from './client-snapshot.js';

const log = createDebug('pytor:rpc');

type Torrent = NonNullable<ClientTorrent['torrent']>;

export interface ClientEngineOptions {
  readonly client: Client;
  readonly registry: TorrentRegistry;
  /**
   * Folder for torrents added without one, and the per-torrent peer limit: given here (the
   * command line) they win; else what session-set saved in the state folder; else the defaults.
   */
  readonly downloadDir?: string;
  readonly defaultDownloadDir: string;
  readonly peerLimitPerTorrent?: number;
  readonly peerLimitGlobal: number;
  readonly version: string;
  /** One line per torrent event (added, complete, error), for the daemon's stderr. */
  readonly note?: (line: string) => void;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
}

/** One torrent of the daemon. `t` is replaced on every restart (a ClientTorrent runs once). */
interface Entry {
  reg: RegistryEntry;
  t: ClientTorrent;
  check: { done: number; total: number } | undefined;
  startedAt: number | undefined;
  /** Payload counted by earlier ClientTorrents of this entry in this process. */
  base: { downloaded: number; uploaded: number };
  /** Pieces held, BEP 3 bitfield, while no session says (a torrent paused since the daemon started). */
  knownBitfield: Buffer | undefined;
}

/** Peer connections per torrent unless set otherwise. */
export const DEFAULT_PEER_LIMIT = 50;

const RUNNING = new Set(['metadata', 'checking', 'downloading', 'seeding']);

export class ClientEngine implements RpcEngine {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;
  private readonly now: () => number;
  private readonly startedAt: number;
  private settings: { downloadDir: string; peerLimitPerTorrent: number; startAddedTorrents: boolean };
  private addedThisRun = 0;
  /** Registry writes started by events (complete, metadata): awaited by close(). */
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    private readonly opts: ClientEngineOptions,
    saved: DaemonSettings,
  ) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.settings = {
      downloadDir: resolve(opts.downloadDir ?? saved.downloadDir ?? opts.defaultDownloadDir),
      peerLimitPerTorrent: opts.peerLimitPerTorrent ?? saved.peerLimitPerTorrent ?? DEFAULT_PEER_LIMIT,
      startAddedTorrents: saved.startAddedTorrents ?? true,
    };
  }

  /** Adds back every torrent of the registry, each in the state it was left (running or paused). */
  static async open(opts: ClientEngineOptions): Promise<ClientEngine> {
    const engine = new ClientEngine(opts, await loadDaemonSettings(opts.client.options.stateDir));
    const { entries, problems } = await opts.registry.load();
    for (const p of problems) engine.note(`state: torrent entry ignored: ${p}`);
    for (const reg of entries) {
      engine.nextId = Math.max(engine.nextId, reg.id + 1);
      let made: { source: TorrentSource; peers: readonly { host: string; port: number }[] };
      try {
        made = sourceOfEntry(reg);
      } catch (err) {
        engine.note(`state: torrent ${reg.id} (${reg.infoHashHex}) ignored: ${(err as Error).message}`);
        continue;
      }
      if (opts.client.get(reg.infoHashHex)) continue;
      await engine.launch(reg, made, false);
    }
    log('restored %d torrents', engine.entries.size);
    return engine;
  }

  private note(line: string): void {
    log(line);
    this.opts.note?.(line);
  }

  private addOptions(reg: RegistryEntry, peers: readonly { host: string; port: number }[]): ClientAddOptions {
    return {
      outDir: reg.outDir,
      peers,
      maxPeers: reg.maxPeers ?? this.settings.peerLimitPerTorrent,
      seed: { keepSeeding: true },
      waitForPeers: true,
      trustOwnWrites: true,
      select: selectionOf(reg.unwanted),
    };
  }

  /** Puts a torrent into the client, started or (paused) stopped. */
  private async launch(reg: RegistryEntry, made: { source: TorrentSource; peers: readonly { host: string; port: number }[] }, announceAdd: boolean): Promise<Entry> {
    const t = this.opts.client.add(made.source, this.addOptions(reg, made.peers));
    const entry: Entry = { reg, t, check: undefined, startedAt: undefined, base: { downloaded: 0, uploaded: 0 }, knownBitfield: undefined };
    this.entries.set(reg.id, entry);
    this.wire(entry);
    if (announceAdd) this.note(`added ${reg.id}: ${t.name ?? t.infoHashHex}`);
    if (reg.paused) {
      await t.stop();
      await this.loadKnownPieces(entry);
    } else this.run(entry);
    return entry;
  }

  private run(entry: Entry): void {
    entry.startedAt = Math.floor(this.now() / 1000);
    void entry.t.start();
  }

  /** For a paused torrent, what its resume data says it holds (so the list shows its percentage). */
  private async loadKnownPieces(entry: Entry): Promise<void> {
    const torrent = entry.t.torrent;
    if (!torrent) return;
    const data = await this.opts.client.resume.load(torrent, entry.t.outDir);
    entry.knownBitfield = data?.bitfield;
  }

  private wire(entry: Entry): void {
    const t = entry.t;
    const label = () => `${entry.reg.id}: ${t.name ?? t.infoHashHex}`;
    t.on('checking', (done: number, total: number) => (entry.check = { done, total }));
    t.on('checked', () => (entry.check = undefined));
    t.on('complete', () => {
      if (entry.reg.doneAt !== undefined) return;
      this.note(`complete ${label()}`);
      this.update(entry, { doneAt: Math.floor(this.now() / 1000) });
    });
    t.on('metadata', (torrent: Torrent) => {
      this.note(`metadata ${label()}`);
      if (entry.reg.magnet !== undefined && entry.reg.info === undefined) this.update(entry, { info: torrent.infoBytes });
    });
    t.on('error', (err: Error) => this.note(`error ${label()}: ${err.message}`));
  }

  /** Changes the entry and writes it; a failed write is logged (the next change writes it again). */
  private update(entry: Entry, change: Partial<RegistryEntry>): Promise<void> {
    entry.reg = { ...entry.reg, ...change };
    const p = this.opts.registry.save(entry.reg).catch((err: Error) => this.note(`state: could not save torrent ${entry.reg.id}: ${err.message}`));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private entry(id: number): Entry {
    const e = this.entries.get(id);
    if (!e) throw new Error(`no torrent with id ${id}`);
    return e;
  }

  // --- RpcEngine -----------------------------------------------------------------------------

  torrents(query: TorrentQuery): readonly TorrentSnapshot[] {
    const out: TorrentSnapshot[] = [];
    for (const id of [...this.entries.keys()].sort((a, b) => a - b)) out.push(this.snapshot(this.entries.get(id)!, query));
    return out;
  }

  async add(source: AddSource, options: AddOptions): Promise<AddResult> {
    if (source.kind === 'url') throw new Error('adding a torrent by URL is not supported yet: download the .torrent and add the file');
    if ([options.priorityHigh, options.priorityLow].some((list) => list !== undefined && list.length > 0)) throw new Error('file priorities are not supported yet');
    const fields = source.kind === 'metainfo' ? { metainfo: Buffer.from(source.bytes) } : { magnet: source.uri };
    const made = sourceOfEntry(fields);
    let unwanted: number[] | undefined;
    if ((options.filesWanted?.length ?? 0) + (options.filesUnwanted?.length ?? 0) > 0) {
      if (!('torrent' in made.source)) throw new Error('a magnet link has no file list yet: choose files once its metadata is here');
      unwanted = changeSelection(made.source.torrent, [], { wanted: options.filesWanted, unwanted: options.filesUnwanted });
    }
    const hex = 'torrent' in made.source ? made.source.torrent.infoHashHex : made.source.magnet.infoHashHex;
    for (const e of this.entries.values()) {
      if (e.reg.infoHashHex === hex) return { id: e.reg.id, infoHashHex: hex, name: e.t.name ?? hex, duplicate: true };
    }
    const dir = options.downloadDir ?? this.settings.downloadDir;
    if (!isAbsolute(dir)) throw new Error(`download folder must be an absolute path: ${dir}`);
    const reg: RegistryEntry = {
      id: this.nextId++,
      infoHashHex: hex,
      addedAt: Math.floor(this.now() / 1000),
      outDir: resolve(dir),
      paused: options.paused ?? !this.settings.startAddedTorrents,
      ...fields,
      maxPeers: options.peerLimit,
      unwanted,
    };
    // On disk before it runs: a crash right after the reply still knows the torrent.
    await this.opts.registry.save(reg);
    const entry = await this.launch(reg, made, true);
    this.addedThisRun++;
    return { id: reg.id, infoHashHex: hex, name: entry.t.name ?? hex, duplicate: false };
  }

  async start(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const entry = this.entry(id);
      if (entry.reg.paused) await this.update(entry, { paused: false });
      if (!RUNNING.has(entry.t.state)) await this.restart(entry, false);
    }
  }

  private async restart(entry: Entry, recheck: boolean, change?: Partial<ClientAddOptions>): Promise<void> {
    const old = entry.t;
    const s = old.session?.stats();
    const t = await this.opts.client.restart(old, { recheck, change: { select: selectionOf(entry.reg.unwanted), ...change } });
    if (s) entry.base = { downloaded: entry.base.downloaded + s.downloaded, uploaded: entry.base.uploaded + s.uploaded };
    entry.t = t;
    entry.check = undefined;
    entry.knownBitfield = undefined;
    this.wire(entry);
    this.run(entry);
  }

  async stop(ids: readonly number[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const entry = this.entry(id);
        await this.update(entry, { paused: true });
        await entry.t.stop();
      }),
    );
  }

  async verify(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const entry = this.entry(id);
      if (!entry.t.torrent) continue; // nothing to check before the metadata is here
      await this.restart(entry, true);
      // A stopped torrent is checked and stays stopped, as in Transmission.
      if (entry.reg.paused) {
        const t = entry.t;
        t.once('checked', () => void t.stop());
      }
    }
  }

  async reannounce(): Promise<void> {
    throw new Error('asking the trackers again on demand is not supported yet');
  }

  async remove(ids: readonly number[], deleteData: boolean): Promise<void> {
    for (const id of ids) {
      const entry = this.entry(id);
      const t = entry.t;
      await this.opts.client.remove(t, { forgetResume: true });
      this.entries.delete(id);
      await this.opts.registry.remove(entry.reg.infoHashHex);
      if (deleteData && t.torrent) {
        const r = await deleteTorrentData(t.torrent, t.outDir);
        if (r.skipped.length > 0) this.note(`removed ${id}: left ${r.skipped.length} paths alone (a folder on the way is a symlink)`);
      }
      this.note(`removed ${id}: ${t.name ?? t.infoHashHex}${deleteData ? ' (and its data)' : ''}`);
    }
  }

  async setFiles(id: number, changes: FileChanges): Promise<void> {
    if ([changes.high, changes.low].some((list) => list !== undefined && list.length > 0)) throw new Error('file priorities are not supported yet');
    const entry = this.entry(id);
    const torrent = entry.t.torrent;
    if (!torrent) throw new Error('this torrent has no file list yet: its metadata is still being fetched');
    const unwanted = changeSelection(torrent, entry.reg.unwanted ?? [], changes);
    await this.update(entry, { unwanted });
    // A running torrent picks the new selection up on a restart (resume data keeps what it has).
    if (RUNNING.has(entry.t.state)) await this.restart(entry, false, { select: selectionOf(unwanted) });
  }

  async setTorrentLimits(_ids: readonly number[], limits: TorrentLimits): Promise<void> {
    if (limits.downloadLimit !== undefined || limits.uploadLimit !== undefined) throw new Error('per-torrent speed limits are not supported yet');
    if (limits.ratioLimit !== undefined) throw new Error('per-torrent seeding ratio limits are not supported yet');
    if (limits.peerLimit !== undefined) throw new Error('changing the peer limit of a torrent is not supported yet');
  }

  async setLocation(): Promise<void> {
    throw new Error('moving a torrent to another folder is not supported yet');
  }

  session(): SessionSettings {
    const client = this.opts.client;
    return {
      downloadDir: this.settings.downloadDir,
      peerPort: client.port,
      downloadLimit: client.bandwidth.down.rate > 0 ? client.bandwidth.down.rate : null,
      uploadLimit: client.bandwidth.up.rate > 0 ? client.bandwidth.up.rate : null,
      seedRatioLimit: null,
      peerLimitGlobal: this.opts.peerLimitGlobal,
      peerLimitPerTorrent: this.settings.peerLimitPerTorrent,
      startAddedTorrents: this.settings.startAddedTorrents,
      dhtEnabled: client.dht !== undefined,
      dhtNodes: client.dht?.stats().nodes,
      pexEnabled: true,
      lpdEnabled: false,
      utpEnabled: false,
      encryption: 'tolerated',
      configDir: client.options.stateDir,
      version: this.opts.version,
    };
  }

  async setSession(changes: SessionChanges): Promise<void> {
    if (changes.peerPort !== undefined) throw new Error('changing the peer port of a running daemon is not supported yet (restart it with --port)');
    // Global limits: the client's token buckets (Transmission's kB/s arrive here as bytes/s).
    const bandwidth = this.opts.client.bandwidth;
    if (changes.downloadLimit !== undefined) bandwidth.down.setRate(changes.downloadLimit ?? 0);
    if (changes.uploadLimit !== undefined) bandwidth.up.setRate(changes.uploadLimit ?? 0);
    if ((changes.seedRatioLimit ?? null) !== null) throw new Error('a seeding ratio limit is not supported yet');
    if (changes.peerLimitGlobal !== undefined && changes.peerLimitGlobal !== this.opts.peerLimitGlobal) throw new Error('changing the global peer limit of a running daemon is not supported yet');
    if (changes.downloadDir !== undefined && !isAbsolute(changes.downloadDir)) throw new Error(`download folder must be an absolute path: ${changes.downloadDir}`);
    this.settings = {
      downloadDir: changes.downloadDir !== undefined ? resolve(changes.downloadDir) : this.settings.downloadDir,
      peerLimitPerTorrent: changes.peerLimitPerTorrent ?? this.settings.peerLimitPerTorrent,
      startAddedTorrents: changes.startAddedTorrents ?? this.settings.startAddedTorrents,
    };
    await saveDaemonSettings(this.opts.client.options.stateDir, this.settings);
  }

  totals(): SessionTotals {
    let downloadedBytes = 0;
    let uploadedBytes = 0;
    for (const e of this.entries.values()) {
      const s = e.t.session?.stats();
      downloadedBytes += e.base.downloaded + (s?.downloaded ?? 0);
      uploadedBytes += e.base.uploaded + (s?.uploaded ?? 0);
    }
    const current = { downloadedBytes, uploadedBytes, filesAdded: this.addedThisRun, secondsActive: Math.floor((this.now() - this.startedAt) / 1000), sessionCount: 1 };
    // pytor keeps no totals across runs yet: cumulative is this run's.
    return { current, cumulative: current };
  }

  /** Free space where `dir` is or will be: a folder not made yet lives on its nearest existing parent's disk. */
  async freeSpace(dir: string): Promise<number> {
    let at = resolve(dir);
    for (;;) {
      try {
        const s = await statfs(at);
        return s.bavail * s.bsize;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const parent = dirname(at);
        if (code !== 'ENOENT' || parent === at) throw new Error(`cannot tell the free space of ${dir}: ${code ?? (err as Error).message}`);
        at = parent;
      }
    }
  }

  async portTest(): Promise<boolean | null> {
    return null;
  }

  /** Stops every torrent (trackers told, resume saved) and waits for the registry writes. */
  async close(): Promise<void> {
    await this.opts.client.close();
    await Promise.all([...this.pending]);
  }

  // --- snapshots -----------------------------------------------------------------------------

  private snapshot(entry: Entry, query: TorrentQuery): TorrentSnapshot {
    const { t, reg } = entry;
    const torrent = t.torrent;
    const session = t.session;
    const stats = session?.stats();
    const state = rpcState(t.state);
    const active = state === 'downloading' || state === 'seeding';
    const pieceCount = torrent?.pieces.length ?? 0;
    const has = this.pieceTest(entry);
    let verifiedBytes = stats && state !== 'checking' ? stats.verified : 0;
    if (!stats || (state === 'checking' && verifiedBytes === 0)) verifiedBytes = torrent ? bytesOfPieces(torrent, has) : 0;
    const totalBytes = torrent?.length ?? 0;
    // The selected files' bytes: the engine counts them once running; from the registry otherwise.
    const unwantedBytes = torrent ? (reg.unwanted ?? []).reduce((n, i) => n + (torrent.files[i]?.length ?? 0), 0) : 0;
    const wantedBytes = stats && state !== 'checking' ? stats.length : totalBytes - unwantedBytes;
    const downloadRate = active && stats ? stats.downloadRate : 0;
    const uploadRate = active && stats ? stats.uploadRate : 0;
    const status = query.peers || query.trackers || active ? t.status() : undefined;
    const peers = status?.peers ?? [];
    const left = Math.max(0, wantedBytes - verifiedBytes);
    const metadata = state === 'metadata' ? status?.metadata ?? t.status().metadata : undefined;
    return {
      id: reg.id,
      infoHashHex: t.infoHashHex,
      name: t.name ?? t.infoHashHex,
      state,
      error: state === 'error' ? t.error?.message ?? 'error' : undefined,
      checkProgress: state === 'checking' && entry.check ? entry.check.done / Math.max(1, entry.check.total) : undefined,
      metadataProgress: metadata ? metadata.piecesHave / Math.max(1, metadata.pieceCount) : undefined,
      totalBytes,
      wantedBytes,
      verifiedBytes,
      wantedVerifiedBytes: verifiedBytes,
      corruptBytes: torrent && stats ? stats.hashFailures * torrent.pieceLength : undefined,
      pieceLength: torrent?.pieceLength ?? 0,
      pieceCount,
      downloadedBytes: entry.base.downloaded + (stats?.downloaded ?? 0),
      uploadedBytes: entry.base.uploaded + (stats?.uploaded ?? 0),
      downloadRate,
      uploadRate,
      etaSeconds: state === 'downloading' && downloadRate > 0 ? left / downloadRate : undefined,
      peersConnected: active ? stats?.peersConnected ?? 0 : 0,
      peersSendingToUs: active ? peers.filter((p) => p.downloadRate > 0).length : 0,
      peersGettingFromUs: active ? peers.filter((p) => p.uploadRate > 0).length : 0,
      addedAt: reg.addedAt,
      doneAt: reg.doneAt,
      startedAt: entry.startedAt,
      downloadDir: t.outDir,
      ratioLimit: 'unlimited',
      peerLimit: reg.maxPeers ?? this.settings.peerLimitPerTorrent,
      isPrivate: torrent?.private,
      comment: torrent?.comment,
      creator: torrent?.createdBy,
      createdAt: torrent?.creationDate,
      trackerUrls: trackerUrlsOf(t),
      webSeeds: torrent?.urlList,
      fileCount: torrent ? torrent.files.filter((f) => !f.padding).length : 0,
      ...(query.files ? { files: torrent ? filesOf(torrent, has, new Set(reg.unwanted ?? [])) : [] } : {}),
      ...(query.peers ? { peers: peers.map(peerSnapshot) } : {}),
      ...(query.trackers ? { trackers: trackersOf(t, status?.trackers ?? []) } : {}),
      ...(query.pieces ? { pieces: bitfieldOf(pieceCount, has) } : {}),
    };
  }

  /** Whether piece i is held: from the session when there is one, else from the resume data. */
  private pieceTest(entry: Entry): (i: number) => boolean {
    const session = entry.t.session;
    if (session && entry.t.state !== 'checking') {
      const have = session.picker.have;
      return (i) => have[i] === 1;
    }
    const bits = entry.knownBitfield;
    if (bits) return (i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
    if (session) {
      const have = session.picker.have;
      return (i) => have[i] === 1;
    }
    return () => false;
  }
}
