// An RpcEngine in memory for the RPC tests: a list of torrents whose snapshots the test sets,
// and whose actions (start, stop, remove, setFiles, limits, location, session) change that list
// the way the real engine would, so a test can assert what a command did. Every call is logged.
import { createHash } from 'node:crypto';
import { parseMagnet } from '../../src/magnet/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import type {
  AddOptions,
  AddResult,
  AddSource,
  FileChanges,
  FileSnapshot,
  PeerSnapshot,
  RpcEngine,
  SessionChanges,
  SessionSettings,
  SessionTotals,
  TorrentLimits,
  TorrentQuery,
  TorrentSnapshot,
  TrackerSnapshot,
} from '../../src/rpc/engine.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type MemoryTorrent = Mutable<Omit<TorrentSnapshot, 'files' | 'peers' | 'trackers' | 'pieces'>> & {
  files: Mutable<FileSnapshot>[];
  peers: PeerSnapshot[];
  trackers: TrackerSnapshot[];
  pieces: Uint8Array;
};

export interface EngineCall {
  readonly method: string;
  readonly args: unknown[];
}

const NOW = 1_750_000_000;

/** A torrent snapshot with plausible defaults; `over` sets what a test cares about. */
export function makeTorrent(id: number, over: Partial<MemoryTorrent> = {}): MemoryTorrent {
  const name = over.name ?? `torrent-${id}`;
  const pieceLength = over.pieceLength ?? 262144;
  const totalBytes = over.totalBytes ?? 4 * pieceLength;
  const pieceCount = Math.ceil(totalBytes / pieceLength);
  const files = over.files ?? [{ path: name, length: totalBytes, verifiedBytes: 0, wanted: true, priority: 'normal' as const }];
  return {
    id,
    infoHashHex: createHash('sha1').update(`t${id}`).digest('hex'),
    name,
    state: 'downloading',
    totalBytes,
    wantedBytes: totalBytes,
    verifiedBytes: 0,
    wantedVerifiedBytes: 0,
    pieceLength,
    pieceCount,
    downloadedBytes: 0,
    uploadedBytes: 0,
    downloadRate: 0,
    uploadRate: 0,
    peersConnected: 0,
    peersSendingToUs: 0,
    peersGettingFromUs: 0,
    addedAt: NOW - 3600,
    downloadDir: '/data/downloads',
    ratioLimit: 'session',
    fileCount: files.length,
    trackerUrls: [['http://127.0.0.1:6969/announce']],
    peers: [],
    trackers: [],
    pieces: new Uint8Array(Math.ceil(pieceCount / 8)),
    ...over,
    files,
  };
}

export class MemoryEngine implements RpcEngine {
  readonly list: MemoryTorrent[] = [];
  readonly calls: EngineCall[] = [];
  private nextId = 1;
  settings: Mutable<SessionSettings> = {
    downloadDir: '/data/downloads',
    peerPort: 51413,
    downloadLimit: null,
    uploadLimit: null,
    seedRatioLimit: null,
    peerLimitGlobal: 200,
    peerLimitPerTorrent: 50,
    startAddedTorrents: true,
    dhtEnabled: true,
    pexEnabled: true,
    lpdEnabled: false,
    utpEnabled: true,
    encryption: 'preferred',
    configDir: '/data/state',
    version: '0.1.0',
  };
  /** What portTest answers. */
  portOpen: boolean | null = null;
  /** What freeSpace answers. */
  free = 123_456_789_000;

  put(t: MemoryTorrent): MemoryTorrent {
    this.list.push(t);
    this.nextId = Math.max(this.nextId, t.id + 1);
    return t;
  }

  byId(id: number): MemoryTorrent {
    const t = this.list.find((x) => x.id === id);
    if (!t) throw new Error(`no torrent ${id}`);
    return t;
  }

  private log(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }

  torrents(query: TorrentQuery): readonly TorrentSnapshot[] {
    return this.list.map((t) => {
      const { files, peers, trackers, pieces, ...rest } = t;
      return {
        ...rest,
        ...(query.files ? { files: files.map((f) => ({ ...f })) } : {}),
        ...(query.peers ? { peers } : {}),
        ...(query.trackers ? { trackers } : {}),
        ...(query.pieces ? { pieces } : {}),
      };
    });
  }

  async add(source: AddSource, options: AddOptions): Promise<AddResult> {
    this.log('add', source, options);
    let infoHashHex: string;
    let name: string;
    let files: Mutable<FileSnapshot>[] = [];
    let totalBytes = 0;
    let pieceLength = 16384;
    if (source.kind === 'metainfo') {
      const torrent = parseTorrent(source.bytes);
      infoHashHex = torrent.infoHash.toString('hex');
      name = torrent.name;
      pieceLength = torrent.pieceLength;
      files = torrent.files.map((f) => ({ path: (torrent.multiFile ? [torrent.name, ...f.path] : f.path).join('/'), length: f.length, verifiedBytes: 0, wanted: true, priority: 'normal' as const }));
      totalBytes = torrent.length;
    } else if (source.kind === 'magnet') {
      const magnet = parseMagnet(source.uri);
      infoHashHex = magnet.infoHashHex;
      name = magnet.name ?? infoHashHex;
    } else {
      throw new Error('this engine does not fetch URLs');
    }
    const existing = this.list.find((t) => t.infoHashHex === infoHashHex);
    if (existing) return { id: existing.id, infoHashHex, name: existing.name, duplicate: true };
    for (const i of options.filesUnwanted ?? []) {
      const f = files[i];
      if (!f) throw new Error(`file index out of range: ${i}`);
      f.wanted = false;
    }
    const id = this.nextId++;
    const t = makeTorrent(id, {
      infoHashHex,
      name,
      files,
      fileCount: files.length,
      totalBytes,
      pieceLength,
      pieceCount: totalBytes === 0 ? 0 : Math.ceil(totalBytes / pieceLength),
      state: source.kind === 'magnet' ? 'metadata' : options.paused ? 'stopped' : 'downloading',
      downloadDir: options.downloadDir ?? this.settings.downloadDir,
    });
    this.recomputeWanted(t);
    this.list.push(t);
    return { id, infoHashHex, name, duplicate: false };
  }

  async start(ids: readonly number[], now: boolean): Promise<void> {
    this.log('start', [...ids], now);
    for (const id of ids) {
      const t = this.byId(id);
      if (t.state === 'stopped' || t.state === 'error') t.state = t.wantedVerifiedBytes >= t.wantedBytes && t.wantedBytes > 0 ? 'seeding' : 'downloading';
    }
  }

  async stop(ids: readonly number[]): Promise<void> {
    this.log('stop', [...ids]);
    for (const id of ids) {
      const t = this.byId(id);
      t.state = 'stopped';
      t.downloadRate = 0;
      t.uploadRate = 0;
    }
  }

  async verify(ids: readonly number[]): Promise<void> {
    this.log('verify', [...ids]);
    for (const id of ids) {
      const t = this.byId(id);
      t.state = 'checking';
      t.checkProgress = 0;
    }
  }

  async reannounce(ids: readonly number[]): Promise<void> {
    this.log('reannounce', [...ids]);
  }

  async remove(ids: readonly number[], deleteData: boolean): Promise<void> {
    this.log('remove', [...ids], deleteData);
    for (const id of ids) this.list.splice(this.list.indexOf(this.byId(id)), 1);
  }

  async setFiles(id: number, changes: FileChanges): Promise<void> {
    this.log('setFiles', id, changes);
    const t = this.byId(id);
    const at = (i: number) => {
      const f = t.files[i];
      if (!f) throw new Error(`file index out of range: ${i}`);
      return f;
    };
    for (const i of changes.wanted ?? []) at(i).wanted = true;
    for (const i of changes.unwanted ?? []) at(i).wanted = false;
    for (const i of changes.high ?? []) at(i).priority = 'high';
    for (const i of changes.normal ?? []) at(i).priority = 'normal';
    for (const i of changes.low ?? []) at(i).priority = 'low';
    this.recomputeWanted(t);
  }

  /** Wanted sizes as the sum of wanted files (a test engine's simplification of piece spans). */
  private recomputeWanted(t: MemoryTorrent): void {
    if (t.files.length === 0) return;
    t.wantedBytes = t.files.filter((f) => f.wanted).reduce((a, f) => a + f.length, 0);
    t.wantedVerifiedBytes = t.files.filter((f) => f.wanted).reduce((a, f) => a + f.verifiedBytes, 0);
  }

  async setTorrentLimits(ids: readonly number[], limits: TorrentLimits): Promise<void> {
    this.log('setTorrentLimits', [...ids], limits);
    for (const id of ids) {
      const t = this.byId(id);
      if (limits.downloadLimit !== undefined) t.downloadLimit = limits.downloadLimit ?? undefined;
      if (limits.uploadLimit !== undefined) t.uploadLimit = limits.uploadLimit ?? undefined;
      if (limits.ratioLimit !== undefined) t.ratioLimit = limits.ratioLimit;
      if (limits.peerLimit !== undefined) t.peerLimit = limits.peerLimit;
    }
  }

  async setLocation(ids: readonly number[], dir: string, move: boolean): Promise<void> {
    this.log('setLocation', [...ids], dir, move);
    for (const id of ids) this.byId(id).downloadDir = dir;
  }

  session(): SessionSettings {
    return { ...this.settings };
  }

  async setSession(changes: SessionChanges): Promise<void> {
    this.log('setSession', changes);
    Object.assign(this.settings, changes);
  }

  totals(): SessionTotals {
    const sum = (k: 'downloadedBytes' | 'uploadedBytes') => this.list.reduce((a, t) => a + t[k], 0);
    const current = { uploadedBytes: sum('uploadedBytes'), downloadedBytes: sum('downloadedBytes'), filesAdded: this.list.length, secondsActive: 600, sessionCount: 1 };
    return { current, cumulative: { ...current, secondsActive: 7200, sessionCount: 3 } };
  }

  async freeSpace(dir: string): Promise<number> {
    this.log('freeSpace', dir);
    return this.free;
  }

  async portTest(): Promise<boolean | null> {
    this.log('portTest');
    return this.portOpen;
  }
}
