// What the RPC layer needs from the engine, in pytor's own terms: camelCase, bytes, bytes per
// second, seconds since the epoch. The Transmission names, units (KB/s), status numbers and
// derived values (percentDone, leftUntilDone, ratios) are worked out in rpc/fields.ts, so an
// engine never learns the protocol and the protocol never reaches into the engine.
//
// Contract for every method: throwing an Error (with a one-line message meant for a person)
// turns into a failed RPC `result` with that message; nothing the engine throws becomes an
// HTTP 500. Ids are the engine's own small positive integers, stable for a torrent's life.

/** Where a torrent is in its life. `error` means stopped by a local error (disk, data). */
export type TorrentState = 'checking' | 'metadata' | 'downloading' | 'seeding' | 'stopped' | 'error';

export type FilePriority = 'low' | 'normal' | 'high';

/** A seeding-ratio rule: the session's default, none, or a ratio of its own. */
export type RatioLimit = 'session' | 'unlimited' | number;

export interface PeerSnapshot {
  /** IP address (v4 dotted, v6 without brackets). */
  readonly address: string;
  readonly port: number;
  /** Client name from the peer id or the extension handshake ('' when unknown). */
  readonly client: string;
  /** Fraction of the torrent the peer has, 0..1. */
  readonly progress: number;
  /** Bytes per second from the peer to us. */
  readonly downloadRate: number;
  /** Bytes per second from us to the peer. */
  readonly uploadRate: number;
  readonly incoming: boolean;
  readonly encrypted: boolean;
  readonly utp: boolean;
  /** We choke the peer / the peer chokes us / interest in each direction. */
  readonly amChoking: boolean;
  readonly amInterested: boolean;
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
  /** How we learnt of the peer. */
  readonly source?: 'tracker' | 'dht' | 'pex' | 'incoming' | 'manual' | 'lsd';
}

export interface TrackerSnapshot {
  readonly url: string;
  /** BEP 12 tier, 0-based. */
  readonly tier: number;
  /** The last announce that finished, if any. */
  readonly lastAnnounce?: {
    readonly at: number;
    readonly ok: boolean;
    /** 'Success' or the error text. */
    readonly message: string;
    readonly peers: number;
    readonly timedOut?: boolean;
  };
  /** From the last reply (`complete` / `incomplete`), when the tracker gave them. */
  readonly seeders?: number;
  readonly leechers?: number;
  readonly downloads?: number;
  /** When the next announce is due (seconds since the epoch), if scheduled. */
  readonly nextAnnounceAt?: number;
  /** An announce is in flight right now. */
  readonly announcing?: boolean;
}

export interface FileSnapshot {
  /** Path as the torrent names it, '/'-separated, with the torrent's folder first for multi-file torrents. */
  readonly path: string;
  readonly length: number;
  /** Bytes of this file inside verified pieces. */
  readonly verifiedBytes: number;
  readonly wanted: boolean;
  readonly priority: FilePriority;
}

/** One torrent at one moment. Optional parts are filled only when asked for (see TorrentQuery). */
export interface TorrentSnapshot {
  readonly id: number;
  /** Lowercase hex of the v1 info-hash. */
  readonly infoHashHex: string;
  /** The torrent's name (the magnet's `dn` or the hash while metadata is missing). */
  readonly name: string;
  readonly state: TorrentState;
  /** Text of the local error when state is 'error'. */
  readonly error?: string;
  /** 0..1 while state is 'checking'. */
  readonly checkProgress?: number;
  /** 0..1 while state is 'metadata'. */
  readonly metadataProgress?: number;
  /** Stopped because its seeding goal (ratio) was reached. */
  readonly finished?: boolean;

  /** Sizes in bytes. Unknown (0) while metadata is missing. */
  readonly totalBytes: number;
  /** Bytes of the pieces the wanted files touch. */
  readonly wantedBytes: number;
  /** Bytes verified on disk, in all pieces. */
  readonly verifiedBytes: number;
  /** Bytes verified on disk among the wanted ones (<= wantedBytes). */
  readonly wantedVerifiedBytes: number;
  /** Missing wanted bytes that some connected peer has. */
  readonly availableBytes?: number;
  /** Bytes of pieces that failed their hash check, ever. */
  readonly corruptBytes?: number;
  readonly pieceLength: number;
  readonly pieceCount: number;

  /** Payload totals, ever (across restarts when the engine keeps them). */
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Current rates, bytes per second. */
  readonly downloadRate: number;
  readonly uploadRate: number;
  /** Seconds until done (or until the ratio goal while seeding); undefined when unknown. */
  readonly etaSeconds?: number;

  readonly peersConnected: number;
  /** Peers we are downloading from / uploading to right now. */
  readonly peersSendingToUs: number;
  readonly peersGettingFromUs: number;

  /** Seconds since the epoch. */
  readonly addedAt: number;
  readonly doneAt?: number;
  readonly startedAt?: number;
  /** Last time a payload byte moved either way (or the torrent changed state). */
  readonly activityAt?: number;
  readonly secondsDownloading?: number;
  readonly secondsSeeding?: number;

  /** Absolute folder the torrent's files live under. */
  readonly downloadDir: string;
  /** Bytes per second, or undefined for no limit of its own. */
  readonly downloadLimit?: number;
  readonly uploadLimit?: number;
  readonly ratioLimit: RatioLimit;
  readonly peerLimit?: number;

  readonly isPrivate?: boolean;
  readonly comment?: string;
  readonly creator?: string;
  /** The torrent's creation date, seconds since the epoch. */
  readonly createdAt?: number;
  /** Announce URLs by tier (for the magnet link and `trackers`; no announce state). */
  readonly trackerUrls?: readonly (readonly string[])[];
  readonly webSeeds?: readonly string[];
  /** The number of files (known without `files`, for checking file indices). */
  readonly fileCount: number;

  readonly files?: readonly FileSnapshot[];
  readonly peers?: readonly PeerSnapshot[];
  readonly trackers?: readonly TrackerSnapshot[];
  /** Piece bitfield (BEP 3 order: piece 0 is the high bit of byte 0). */
  readonly pieces?: Uint8Array;
}

/** Which optional, costly parts of a snapshot to fill. */
export interface TorrentQuery {
  readonly files?: boolean;
  readonly peers?: boolean;
  readonly trackers?: boolean;
  readonly pieces?: boolean;
}

/** A torrent to add: .torrent bytes (read and size-checked by the RPC layer), a magnet link, or a URL. */
export type AddSource =
  | { readonly kind: 'metainfo'; readonly bytes: Uint8Array; /** Where it was read from, when it was a path. */ readonly path?: string }
  | { readonly kind: 'magnet'; readonly uri: string }
  | { readonly kind: 'url'; readonly url: string };

export interface AddOptions {
  /** Absolute folder; undefined for the session's. */
  readonly downloadDir?: string;
  /** Add without starting. */
  readonly paused?: boolean;
  /** File indices to (not) download; the rest keep the default (wanted). Checked against the torrent by the engine. */
  readonly filesWanted?: readonly number[];
  readonly filesUnwanted?: readonly number[];
  readonly priorityHigh?: readonly number[];
  readonly priorityNormal?: readonly number[];
  readonly priorityLow?: readonly number[];
  readonly peerLimit?: number;
}

export interface AddResult {
  readonly id: number;
  readonly infoHashHex: string;
  readonly name: string;
  /** The torrent was there already: nothing was added and `id` is the existing one. */
  readonly duplicate: boolean;
}

/** Changes to the files of one torrent; indices are checked against fileCount by the RPC layer. */
export interface FileChanges {
  readonly wanted?: readonly number[];
  readonly unwanted?: readonly number[];
  readonly high?: readonly number[];
  readonly normal?: readonly number[];
  readonly low?: readonly number[];
}

/** Per-torrent limits; a field left out is left alone, `null` removes the limit. */
export interface TorrentLimits {
  /** Bytes per second. */
  readonly downloadLimit?: number | null;
  readonly uploadLimit?: number | null;
  readonly ratioLimit?: RatioLimit;
  readonly peerLimit?: number;
}

export interface SessionSettings {
  readonly downloadDir: string;
  readonly peerPort: number;
  /** Bytes per second, null for no limit. */
  readonly downloadLimit: number | null;
  readonly uploadLimit: number | null;
  /** Stop seeding at this ratio (null: seed forever). */
  readonly seedRatioLimit: number | null;
  readonly peerLimitGlobal: number;
  readonly peerLimitPerTorrent: number;
  readonly startAddedTorrents: boolean;
  readonly dhtEnabled: boolean;
  /** Nodes in the DHT routing table, when the engine runs a DHT node (session-get's `pytor-dht-nodes`). */
  readonly dhtNodes?: number;
  readonly pexEnabled: boolean;
  readonly lpdEnabled: boolean;
  readonly utpEnabled: boolean;
  /** 'required' | 'preferred' | 'tolerated' as Transmission names the choices. */
  readonly encryption: 'required' | 'preferred' | 'tolerated';
  /** Where resume files and the like live. */
  readonly configDir: string;
  /** pytor's version, e.g. '0.1.0'. */
  readonly version: string;
}

/** The settings session-set may change. */
export type SessionChanges = Partial<
  Pick<SessionSettings, 'downloadDir' | 'peerPort' | 'downloadLimit' | 'uploadLimit' | 'seedRatioLimit' | 'peerLimitGlobal' | 'peerLimitPerTorrent' | 'startAddedTorrents'>
>;

export interface TransferTotals {
  readonly uploadedBytes: number;
  readonly downloadedBytes: number;
  readonly filesAdded: number;
  readonly secondsActive: number;
  readonly sessionCount: number;
}

export interface SessionTotals {
  /** Since this process started. */
  readonly current: TransferTotals;
  /** Across runs, as far as the engine keeps them (equal to `current` when it keeps none). */
  readonly cumulative: TransferTotals;
}

export interface RpcEngine {
  /** Snapshots of every torrent, in id order, with the optional parts `query` asks for. */
  torrents(query: TorrentQuery): readonly TorrentSnapshot[];
  add(source: AddSource, options: AddOptions): Promise<AddResult>;
  /** Ids are known to exist (the RPC layer resolved them). `now`: skip any queue. */
  start(ids: readonly number[], now: boolean): Promise<void>;
  stop(ids: readonly number[]): Promise<void>;
  verify(ids: readonly number[]): Promise<void>;
  reannounce(ids: readonly number[]): Promise<void>;
  /** Forget the torrents; with deleteData also delete their downloaded files. */
  remove(ids: readonly number[], deleteData: boolean): Promise<void>;
  setFiles(id: number, changes: FileChanges): Promise<void>;
  setTorrentLimits(ids: readonly number[], limits: TorrentLimits): Promise<void>;
  /** `move`: move the data there; otherwise look for the data in the new folder. */
  setLocation(ids: readonly number[], dir: string, move: boolean): Promise<void>;
  session(): SessionSettings;
  setSession(changes: SessionChanges): Promise<void>;
  totals(): SessionTotals;
  /** Free bytes in the filesystem holding `dir` (an absolute path). */
  freeSpace(dir: string): Promise<number>;
  /** Whether the peer port is reachable from outside; null when the engine cannot tell. */
  portTest(): Promise<boolean | null>;
}
