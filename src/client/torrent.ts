/**
 * One torrent inside the client, over its whole life: fetching metadata (for a magnet link),
 * checking existing data (trusting resume data where files are unchanged), transferring,
 * seeding, and stopping with the trackers told and the resume data saved. Emits events the
 * front ends print; the client's policy (policy.ts) says when it is finished.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import createDebug from 'debug';
import type { Magnet } from '../magnet/index.js';
import { torrentFromInfo, trackerTiers, type Torrent } from '../metainfo/index.js';
import { formatAddress, type PeerAddress } from '../peer/address.js';
import type { Handshake } from '../peer/connection.js';
import type { PeerStream, Transport } from '../peer/stream.js';
import { clientName } from '../peer/client-name.js';
import type { UtpConnector } from '../peer/dial.js';
import { pieceTrust, type ResumeData } from '../storage/index.js';
import { Announcer } from '../session/announcer.js';
import type { DhtNode } from '../dht/index.js';
import type { EncryptionPolicy } from '../mse/index.js';
import { MetadataFetcher, type MetadataStats } from '../session/metadata.js';
import type { TokenBucket } from '../session/bandwidth.js';
import { TorrentSession, type ConnectionSlots, type SessionStats } from '../session/session.js';
import { makeKey, TrackerTiers } from '../tracker/index.js';
import { crashTrust } from './crash-trust.js';
import { finishReason, type FinishReason, type SeedPolicy } from './policy.js';
import type { ResumeStore } from './state-dir.js';

const log = createDebug('pytor:client');

/** `left` told to trackers while the size is unknown: not 0, which would make us a seed. */
const UNKNOWN_LEFT = 16 * 1024;
/** Resume data is saved this often while pieces arrive, and at the end. */
export const RESUME_SAVE_MS = 5_000;
/** ... and this often while only counters change (seeding). */
const RESUME_IDLE_SAVE_MS = 60_000;

export type TorrentSource = { readonly torrent: Torrent } | { readonly magnet: Magnet };

export type TorrentState = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'stopping' | 'stopped' | 'error';

export interface AddOptions {
  /** The folder holding (or receiving) the data. */
  readonly outDir: string;
  /** Serve existing data only; nothing in outDir is created or changed (`pytor seed`). */
  readonly readOnly?: boolean;
  /** Peers to dial besides those the trackers give. */
  readonly peers?: readonly PeerAddress[];
  /** Ask the torrent's trackers (default true). */
  readonly trackers?: boolean;
  readonly maxPeers?: number;
  /** Peers unchoked for their rate, plus one optimistic (default 4). */
  readonly uploadSlots?: number;
  readonly seed?: SeedPolicy;
  /** Ignore resume data: hash everything on disk. */
  readonly recheck?: boolean;
  /** For a magnet link: finish once the metadata is here (`info --fetch`). */
  readonly metadataOnly?: boolean;
  /**
   * Keep waiting when every known peer is gone and nothing (tracker, DHT) can find more (the
   * daemon: peers may connect in later). Default: fail with "no peers left".
   */
  readonly waitForPeers?: boolean;
  /**
   * After an unclean exit, keep trusting the resume data for files that only got newer (our
   * own writes after the last save): see crash-trust.ts. Default: such files are hashed again.
   */
  readonly trustOwnWrites?: boolean;
  /**
   * Which files to download, decided once the torrent is known (after the metadata of a
   * magnet link): one flag per file. May throw (a selection that does not fit the torrent).
   */
  readonly select?: (torrent: Torrent) => readonly boolean[] | undefined;
  /** Pieces in file order (after the first few). */
  readonly sequential?: boolean;
  /** Web seeds besides the torrent's url-list (a magnet's ws=). */
  readonly webSeeds?: readonly string[];
  /** Use web seeds at all (default true). */
  readonly useWebSeeds?: boolean;
}

export interface TrackerStatus {
  readonly url: string;
  readonly lastAnnounceAt: number | undefined;
  readonly ok: boolean | undefined;
  readonly message: string | undefined;
  readonly peers: number;
}

export interface PeerStatus {
  readonly address: string;
  /** The printable start of its peer id (`-lt2080-`, `-TR3000-`). */
  readonly client: string;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly progress: number;
  readonly incoming: boolean;
  readonly amChoking: boolean;
  readonly peerChoking: boolean;
}

export interface Discovery {
  /** Nodes in the DHT routing table (undefined: the DHT is not used for this torrent). */
  readonly dhtNodes: number | undefined;
  readonly dhtPeers: number;
  readonly trackersAnswered: number;
  readonly trackers: number;
}

export interface TorrentStatus {
  readonly infoHashHex: string;
  readonly name: string | undefined;
  readonly state: TorrentState;
  readonly error: string | undefined;
  readonly outDir: string;
  readonly stats: SessionStats | undefined;
  readonly metadata: MetadataStats | undefined;
  readonly peers: readonly PeerStatus[];
  readonly trackers: readonly TrackerStatus[];
}

export interface TorrentContext {
  readonly peerId: Buffer;
  readonly port: () => number;
  readonly resume: ResumeStore;
  readonly now: () => number;
  /** The client's DHT node, when on. */
  readonly dht?: DhtNode;
  readonly encryption: EncryptionPolicy;
  /** Outgoing uTP, when on. */
  readonly utp?: UtpConnector;
  /** The client's global connection limit, when it has one. */
  readonly connectionSlots?: ConnectionSlots;
  readonly bandwidth?: { readonly down?: TokenBucket; readonly up?: TokenBucket };
}

export class ClientTorrent extends EventEmitter {
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  readonly outDir: string;
  state: TorrentState;
  torrent: Torrent | undefined;
  session: TorrentSession | undefined;
  error: Error | undefined;
  finished: FinishReason | undefined;
  private fetcher: MetadataFetcher | undefined;
  private announcer: Announcer | undefined;
  private announcing = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private lastSave = { at: 0, pieces: -1, uploaded: 0 };
  private resumeBase = { uploaded: 0, downloaded: 0 };
  private seedingSince: number | undefined;
  private stopping: Promise<void> | undefined;
  private readonly trackerStatus = new Map<string, TrackerStatus>();
  private readonly magnet: Magnet | undefined;
  private dhtTracking: { stop(): void } | undefined;
  /** Peers the DHT found so far (for status and for the "nothing found yet" line). */
  dhtPeersFound = 0;

  constructor(
    source: TorrentSource,
    readonly options: AddOptions,
    private readonly ctx: TorrentContext,
  ) {
    super();
    if ('torrent' in source) {
      this.torrent = source.torrent;
      this.infoHash = source.torrent.infoHash;
      this.infoHashHex = source.torrent.infoHashHex;
      this.state = 'checking';
    } else {
      this.magnet = source.magnet;
      this.infoHash = source.magnet.infoHash;
      this.infoHashHex = source.magnet.infoHashHex;
      this.state = 'metadata';
    }
    this.outDir = resolve(options.outDir);
  }

  get name(): string | undefined {
    return this.torrent?.name ?? this.magnet?.name;
  }

  /** What it was made from, with the metadata once known (to make it again: Client.restart). */
  get source(): TorrentSource {
    return this.torrent ? { torrent: this.torrent } : { magnet: this.magnet! };
  }

  /** Runs the torrent; resolves once it is transferring (or failed, or was stopped first). */
  async start(): Promise<void> {
    try {
      const trackers = this.options.trackers ?? true;
      const tiers = new TrackerTiers(!trackers ? [] : this.torrent ? trackerTiers(this.torrent) : this.magnet!.trackers.map((u) => [u]));
      this.announcer = new Announcer(
        tiers,
        { infoHash: this.infoHash, peerId: this.ctx.peerId, port: this.ctx.port(), key: makeKey() },
        {
          counters: () => {
            const s = this.session?.stats();
            if (!s) return { uploaded: 0, downloaded: 0, left: this.torrent?.length ?? UNKNOWN_LEFT };
            return { uploaded: s.uploaded, downloaded: s.downloaded, left: s.length - s.verified };
          },
          onPeers: (peers, url) => {
            this.trackerStatus.set(url, { url, lastAnnounceAt: this.ctx.now(), ok: true, message: undefined, peers: peers.length });
            this.emit('tracker', { url, ok: true, peers: peers.length });
            this.addPeers(peers);
          },
          onError: (message) => {
            log('tracker: %s', message);
            this.emit('tracker', { url: undefined, ok: false, error: message });
          },
        },
      );
      this.trackDht();
      if (!this.torrent) {
        if (!(await this.fetchMetadata())) return;
        // BEP 27: a private torrent uses its trackers only.
        if (this.torrent!.private) this.untrackDht();
        if (this.options.metadataOnly) {
          this.finish('metadata');
          return;
        }
      }
      await this.startSession();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Looks the torrent up in the DHT now and every 15-30 min, announcing our port (BEP 5). */
  private trackDht(): void {
    const dht = this.ctx.dht;
    if (!dht || this.torrent?.private || this.dhtTracking) return;
    const port = this.ctx.port();
    this.dhtTracking = dht.track(this.infoHash, port > 0 ? port : undefined, (peers) => {
      this.dhtPeersFound += peers.length;
      this.emit('dht-peers', peers.length);
      this.addPeers(peers);
    });
  }

  private untrackDht(): void {
    this.dhtTracking?.stop();
    this.dhtTracking = undefined;
  }

  /**
   * What peer discovery is doing, for a person waiting with no peer yet: DHT nodes known and
   * peers it found, trackers that answered out of those asked.
   */
  discovery(): Discovery {
    return {
      dhtNodes: this.usesDht ? this.ctx.dht?.stats().nodes : undefined,
      dhtPeers: this.dhtPeersFound,
      trackersAnswered: [...this.trackerStatus.values()].filter((t) => t.ok).length,
      trackers: this.announcer?.trackerCount ?? 0,
    };
  }

  /** Whether the DHT looks for peers of this torrent. */
  get usesDht(): boolean {
    return this.dhtTracking !== undefined;
  }

  /** Peers from anywhere (trackers, the user, the DHT): to whoever is dialling now. */
  addPeers(peers: readonly PeerAddress[]): void {
    if (this.session) this.session.addPeers(peers);
    else this.fetcher?.addPeers(peers);
  }

  /** An incoming connection for this info-hash, routed by the client's listener. */
  acceptIncoming(socket: PeerStream, address: PeerAddress, handshake: Handshake, rest: Buffer, transport: Transport = 'tcp'): void {
    if (this.session) this.session.acceptIncoming(socket, address, handshake, rest, transport);
    else if (this.fetcher) this.fetcher.acceptIncoming(socket, address, handshake, rest, transport);
    else socket.destroy();
  }

  /** Resolves with true once the info dict is here and verified; false when stopped first. */
  private async fetchMetadata(): Promise<boolean> {
    const magnet = this.magnet!;
    const fetcher = new MetadataFetcher({
      infoHash: this.infoHash,
      peerId: this.ctx.peerId,
      maxPeers: this.options.maxPeers,
      listenPort: this.ctx.port,
      encryption: this.ctx.encryption,
      utp: this.ctx.utp,
    });
    this.fetcher = fetcher;
    fetcher.on('warning', (message: string) => log('metadata: %s', message));
    fetcher.on('progress', (s: MetadataStats) => this.emit('metadata-progress', s));
    fetcher.addPeers([...(this.options.peers ?? []), ...magnet.peers]);
    this.announcing = true;
    this.announcer!.start();
    let info: Buffer;
    try {
      info = await fetcher.fetch();
    } catch {
      return false; // stopped
    }
    fetcher.stop();
    if (this.stopping) return false;
    try {
      this.torrent = torrentFromInfo(info, magnet.trackers);
    } catch (err) {
      // The bytes hash to the info-hash, so this is the torrent itself being unusable.
      throw new Error(`the metadata of this magnet link is invalid: ${(err as Error).message}`);
    }
    this.state = 'checking';
    this.emit('metadata', this.torrent);
    return true;
  }

  private async startSession(): Promise<void> {
    const torrent = this.torrent!;
    const wantedFiles = this.options.select?.(torrent);
    const resume = this.options.recheck ? undefined : await this.ctx.resume.load(torrent, this.outDir);
    if (this.stopping) return;
    if (resume) this.resumeBase = { uploaded: resume.uploaded, downloaded: resume.downloaded };
    const session = new TorrentSession({
      torrent,
      outDir: this.outDir,
      peerId: this.ctx.peerId,
      listenPort: this.ctx.port(),
      maxPeers: this.options.maxPeers,
      uploadSlots: this.options.uploadSlots,
      connectionSlots: this.ctx.connectionSlots,
      readOnly: this.options.readOnly,
      trust: resume ? (stamps) => (this.options.trustOwnWrites ? crashTrust : pieceTrust)(torrent, resume, stamps) : undefined,
      now: this.ctx.now,
      encryption: this.ctx.encryption,
      utp: this.ctx.utp,
      dht: this.ctx.dht && !torrent.private ? { port: this.ctx.dht.port, addNode: (a) => this.ctx.dht?.addNode(a) } : undefined,
      bandwidth: this.ctx.bandwidth,
      wantedFiles,
      sequential: this.options.sequential,
      webSeeds: this.options.useWebSeeds === false ? [] : [...torrent.urlList, ...(this.magnet?.webSeeds ?? []), ...(this.options.webSeeds ?? [])],
    });
    this.session = session;
    this.state = 'checking';
    session.on('checking', (done: number, total: number) => this.emit('checking', done, total));
    session.on('piece', (index: number) => this.emit('piece', index));
    session.on('warning', (message: string, source?: string) => {
      log('warning: %s', message);
      this.emit('warning', message, source);
    });
    session.on('peer', (label: string, event: string, reason?: string) => this.emit('peer', label, event, reason));
    session.on('piece-failed', (index: number, peers: string[]) => this.emit('piece-failed', index, peers));
    session.on('error', (err: Error) => this.fail(err));
    session.on('complete', () => {
      // Seeding from this moment, not from the next tick: a status read now says so.
      if (this.state === 'downloading') this.state = 'seeding';
      this.seedingSince = this.ctx.now();
      // Data that was complete on disk from the start was never "completed" by this run.
      if (this.announcing) this.announcer?.completed();
      void this.saveResume();
      this.emit('complete');
      this.applyPolicy();
    });
    session.on('tick', () => this.onTick());
    // Carry over every peer the metadata fetch met: they have the torrent.
    const known = this.fetcher?.knownPeers() ?? [];
    this.fetcher = undefined;
    try {
      await session.start();
    } catch (err) {
      if (this.stopping) return; // stopped during the check: not a failure
      throw err;
    }
    if (this.stopping) return;
    const stats = session.stats();
    this.state = stats.state === 'seeding' ? 'seeding' : 'downloading';
    if (this.state === 'seeding') this.seedingSince ??= this.ctx.now();
    this.emit('checked', stats);
    if (this.stopping || this.finished || this.error) return;
    session.addPeers([...(this.options.peers ?? []), ...known]);
    if (!this.announcing) {
      this.announcing = true;
      this.announcer!.start();
    }
    this.saveTimer = setInterval(() => this.maybeSaveResume(), RESUME_SAVE_MS);
    this.applyPolicy();
  }

  private onTick(): void {
    const session = this.session!;
    if (session.state === 'seeding' && this.state === 'downloading') this.state = 'seeding';
    this.emit('tick', session.stats());
    this.applyPolicy();
    // With no tracker to ask again, a download whose every peer has failed would wait forever.
    const s = session.stats();
    if (this.announcer && !this.announcer.hasTrackers && !this.usesDht && !this.options.readOnly && !this.options.waitForPeers && !session.isComplete && s.peersKnown === 0 && s.webSeeds === 0) {
      this.fail(new Error('no peers left: every peer given failed to connect or was dropped'));
    }
  }

  private applyPolicy(): void {
    const session = this.session;
    if (!session || this.finished || this.stopping) return;
    const s = session.stats();
    const reason = finishReason(this.options.seed ?? { keepSeeding: false }, {
      complete: session.isComplete,
      uploaded: s.uploaded,
      length: s.length,
      seedingSince: this.seedingSince,
      now: this.ctx.now(),
    });
    if (reason) this.finish(reason);
  }

  private finish(reason: FinishReason): void {
    if (this.finished) return;
    this.finished = reason;
    this.emit('finished', reason);
  }

  private fail(err: Error): void {
    if (this.error || this.stopping) return;
    this.error = err;
    this.state = 'error';
    this.emit('error', err);
  }

  /** Stops everything: peers, trackers (`stopped`, once), resume data saved. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const failed = this.state === 'error';
    this.state = 'stopping';
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.saveTimer = undefined;
    this.fetcher?.stop();
    this.untrackDht();
    await Promise.all([this.session?.stop(), this.announcing ? this.announcer?.stop() : undefined]);
    await this.saveResume();
    this.state = failed ? 'error' : 'stopped';
    this.emit('stopped');
  }

  private maybeSaveResume(): void {
    const s = this.session?.stats();
    if (!s) return;
    const now = this.ctx.now();
    const piecesChanged = s.piecesHave !== this.lastSave.pieces;
    const countersChanged = s.uploaded !== this.lastSave.uploaded && now - this.lastSave.at >= RESUME_IDLE_SAVE_MS;
    if (piecesChanged || countersChanged) void this.saveResume();
  }

  /** Writes the resume file (one write at a time; a failure is a warning, never fatal). */
  private async saveResume(): Promise<void> {
    while (this.saving) await this.saving;
    const session = this.session;
    if (!session) return;
    this.saving = (async () => {
      const snap = await session.resumeSnapshot();
      if (!snap) return;
      const data: ResumeData = {
        infoHash: this.infoHash,
        outDir: this.outDir,
        bitfield: snap.bitfield,
        files: snap.files,
        uploaded: this.resumeBase.uploaded + snap.uploaded,
        downloaded: this.resumeBase.downloaded + snap.downloaded,
      };
      await this.ctx.resume.save(data);
      const s = session.stats();
      this.lastSave = { at: this.ctx.now(), pieces: s.piecesHave, uploaded: s.uploaded };
    })().catch((err: Error) => {
      log('saving resume data failed: %s', err.message);
      this.emit('warning', `could not save resume data: ${err.message}`);
    });
    try {
      await this.saving;
    } finally {
      this.saving = undefined;
    }
  }

  status(): TorrentStatus {
    const session = this.session;
    return {
      infoHashHex: this.infoHashHex,
      name: this.name,
      state: this.state,
      error: this.error?.message,
      outDir: this.outDir,
      stats: session?.stats(),
      metadata: this.fetcher?.stats(),
      peers: (session?.connectedPeers() ?? []).map((p) => ({
        address: formatAddress(p.address),
        client: clientName(p.remote?.peerId, typeof p.ext.clientVersion === 'string' ? p.ext.clientVersion : undefined),
        downloadRate: p.downloadRate,
        uploadRate: p.uploadRate,
        progress: p.has.count / Math.max(1, p.has.pieceCount),
        incoming: p.incoming,
        amChoking: p.amChoking,
        peerChoking: p.peerChoking,
      })),
      trackers: [...this.trackerStatus.values()],
    };
  }
}
