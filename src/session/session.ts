import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import { pieceSize, type Torrent } from '../metainfo/index.js';
import { bitfieldOf, TorrentStorage, wantedBytesPerPiece, type FileStamp } from '../storage/index.js';
import { allowedFastSet, encodeHandshake, supportsDht, type Message } from '../wire/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { Handshake, PeerConnection, PeerHandler } from '../peer/connection.js';
import type { PeerError } from '../peer/errors.js';
import { transportOf, type PeerStream, type Transport } from '../peer/stream.js';
import type { UtpConnector } from '../peer/dial.js';
import type { EncryptionPolicy } from '../mse/index.js';
import type { TokenBucket } from './bandwidth.js';
import { Downloader } from './downloads.js';
import { SessionExtensions } from './extensions.js';
import { PiecePicker } from './picker.js';
import { PieceReadCache } from './read-cache.js';
import { PeerSwarm } from './swarm.js';
import type { PeerHint } from './peer-book.js';
import { Uploader } from './uploads.js';
import { WebSeedDriver, type WebSeedDriverOptions } from './webseeds.js';

const log = createDebug('pytor:session');

export type SessionState = 'idle' | 'checking' | 'downloading' | 'seeding' | 'stopping' | 'stopped';

export interface SessionOptions {
  readonly torrent: Torrent;
  readonly outDir: string;
  readonly peerId: Buffer;
  /** The port we listen on, for trackers; 0 when not listening. */
  readonly listenPort?: number;
  /** Most peer connections at once. */
  readonly maxPeers?: number;
  /** Peers unchoked for their rate, plus one optimistic (default DEFAULT_UPLOAD_SLOTS, choker.ts). */
  readonly uploadSlots?: number;
  /** A limit shared with other torrents (the client's global connection limit). */
  readonly connectionSlots?: ConnectionSlots;
  /**
   * Serve existing data only (`pytor seed`): the storage opens read-only, so nothing in
   * outDir is created or changed, and nothing is downloaded; pieces missing there stay missing.
   */
  readonly readOnly?: boolean;
  /**
   * Fast resume: per piece, PieceTrust (check, held, missing), computed from the resume data
   * and the files' stamps at open. Without it every piece that could be on disk is hashed.
   */
  readonly trust?: (stampsAtOpen: readonly FileStamp[]) => Uint8Array | undefined;
  readonly random?: () => number;
  readonly now?: () => number;
  /** Bytes of verified pieces waiting for the disk before we stop asking for more. */
  readonly maxPendingWriteBytes?: number;
  /** Bytes of piece buffers for pieces in progress (at least one piece). */
  readonly maxPieceBufferBytes?: number;
  /** The DHT node, when on (BEP 5): we set the DHT bit, tell peers its port, and learn nodes from theirs. */
  readonly dht?: SessionDht;
  /** Protocol encryption for outgoing connections (default 'prefer'). */
  readonly encryption?: EncryptionPolicy;
  /** Outgoing uTP, tried when TCP cannot reach a peer. */
  readonly utp?: UtpConnector;
  /** The client's rate limits, shared by all its torrents (rate 0: none). */
  readonly bandwidth?: { readonly down?: TokenBucket; readonly up?: TokenBucket };
  /** Per file: whether to download it (absent: all). Unselected files are never created. */
  readonly wantedFiles?: readonly boolean[];
  /** Pieces in file order (after the first few): for playing while downloading. */
  readonly sequential?: boolean;
  /** BEP 19 web seed URLs (the torrent's url-list, a magnet's ws=). */
  readonly webSeeds?: readonly string[];
  readonly webSeedOptions?: WebSeedDriverOptions;
  /** Advertise and speak the fast extension (BEP 6). Default true. */
  readonly fast?: boolean;
}

/** Connections the whole client may still open (dialled or accepted); checked before each. */
export interface ConnectionSlots {
  free(): number;
}

/** What a session needs of the DHT: its UDP port, and a place for nodes learnt from peers. */
export interface SessionDht {
  readonly port: number;
  addNode(address: PeerAddress): void;
}

export interface SessionStats {
  readonly state: SessionState;
  /** Bytes to download: the selected files' (the whole torrent without a selection). */
  readonly length: number;
  /** Bytes of selected files that verified pieces cover. */
  readonly verified: number;
  readonly pieceCount: number;
  readonly piecesHave: number;
  /** Payload bytes received / sent this session. */
  readonly downloaded: number;
  readonly uploaded: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly peersConnected: number;
  readonly peersKnown: number;
  readonly hashFailures: number;
  /** Web seeds not dropped. */
  readonly webSeeds: number;
}

/** What a resume file records of a running session (see storage/resume.ts). */
export interface ResumeSnapshot {
  readonly bitfield: Buffer;
  readonly files: FileStamp[];
  readonly downloaded: number;
  readonly uploaded: number;
}

/** Strikes for bad data after which a peer is banned. */
const MAX_STRIKES = 3;
/** Chunks kept for uploads: 8 MiB served one leecher as fast as 16, with 8 MB less RSS (bench up). */
const READ_CACHE_BYTES = 8 * 1024 * 1024;
const TICK_MS = 1_000;
/** Rates average over this many ticks. */
const RATE_WINDOW_SAMPLES = 5;
/** Pieces being downloaded, in bytes: 6 MiB (with 4 MiB of pending writes) kept a 1 GiB download's speed and cut peak RSS by about 7 MB against 12 + 8 (bench down). */
const DEFAULT_PIECE_BUFFER_BYTES = 6 * 1024 * 1024;
const DEFAULT_PENDING_WRITE_BYTES = 4 * 1024 * 1024;

/**
 * One torrent: its storage, the picker and its peers (swarm.ts), what we fetch (downloads.ts)
 * and serve (uploads.ts). Emits: `checking` (done, total) while verifying existing data;
 * `piece` (index) for each verified piece; `peer` (label, 'connected' | 'closed', reason?);
 * `warning` (message); `complete` when every piece is verified and written; `tick` each second;
 * `error` (err) when the storage fails; `stopped`.
 */
export class TorrentSession extends EventEmitter {
  state: SessionState = 'idle';
  readonly torrent: Torrent;
  private storage: TorrentStorage | undefined;
  readonly picker: PiecePicker;
  private readonly swarm: PeerSwarm;
  private readonly downloads: Downloader;
  private readonly uploads: Uploader;
  private readonly readCache: PieceReadCache;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Counters sampled each tick: rates are measured over the last few seconds. */
  private rateSamples: { at: number; down: number; up: number }[] = [];
  private readonly reserved = Buffer.alloc(8);
  private completeEmitted = false;
  /** The check of existing data ran to its end: only then does the picker's view cover every piece. */
  private checked = false;
  /** BEP 10 state and ut_metadata / ut_pex (extensions.ts). */
  private readonly extensions: SessionExtensions;
  /** The port we listen on (told to peers in the BEP 10 handshake); 0 when not listening. */
  listenPort: number;
  private readonly webSeeds: WebSeedDriver | undefined;
  private readonly wantedLength: number;

  constructor(private readonly options: SessionOptions) {
    super();
    this.torrent = options.torrent;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    const pieceLength = this.torrent.pieceLength;
    // Pieces in flight bounded in bytes (one piece at least); this, not the 500-block pipeline
    // cap, bounds what is in flight: 384 blocks at 6 MiB.
    const bufferBytes = options.maxPieceBufferBytes ?? DEFAULT_PIECE_BUFFER_BYTES;
    this.picker = new PiecePicker(
      { pieceCount: this.torrent.pieces.length, pieceLength, length: this.torrent.length },
      this.random,
      Math.max(1, Math.min(256, Math.floor(bufferBytes / pieceLength))),
      options.wantedFiles ? wantedBytesPerPiece(this.torrent, options.wantedFiles) : undefined,
    );
    this.picker.sequential = options.sequential ?? false;
    this.wantedLength = this.picker.wantedLength;
    if (options.fast !== false) this.reserved[7]! |= 0x04;
    this.readCache = new PieceReadCache(
      (i, begin, target) => this.requireStorage().readInto(i, begin, target),
      (i) => pieceSize(this.torrent, i),
      READ_CACHE_BYTES,
      pieceLength,
    );
    this.listenPort = options.listenPort ?? 0;
    if (options.dht) this.reserved[7]! |= 0x01;
    const active = () => this.state === 'downloading' || this.state === 'seeding';
    this.swarm = new PeerSwarm(
      {
        torrent: this.torrent,
        peerId: options.peerId,
        reserved: this.reserved,
        maxPeers: options.maxPeers ?? 50,
        slots: options.connectionSlots,
        now: this.now,
        active,
        encryption: options.encryption,
        utp: options.utp,
      },
      this.handler,
    );
    this.downloads = new Downloader(
      {
        torrent: this.torrent,
        picker: this.picker,
        downloading: () => this.state === 'downloading',
        peers: () => this.swarm.peers.values(),
        writePiece: (i, data) => this.requireStorage().writePiece(i, data),
        pieceWritten: (i) => this.pieceWritten(i),
        bucket: options.bandwidth?.down,
        pieceFailed: (i, contributors) => {
          this.emit('piece-failed', i, [...contributors]);
          this.emit('warning', `piece ${i} failed its hash check`);
          for (const label of contributors) this.strike(label);
        },
        writeFailed: (_i, err) => this.emit('error', err),
        writesSettled: () => {
          if (this.state !== 'downloading') return;
          if (this.isComplete) this.emitComplete();
          else {
            this.downloads.fillAll();
            this.webSeeds?.fill();
          }
        },
      },
      options.maxPendingWriteBytes ?? DEFAULT_PENDING_WRITE_BYTES,
    );
    this.uploads = new Uploader({
      torrent: this.torrent,
      has: (i) => this.picker.have[i] === 1,
      readBlock: (i, begin, length) => this.readCache.block(i, begin, length),
      seeding: () => this.picker.isComplete || this.options.readOnly === true,
      warn: (message) => this.emit('warning', message),
      random: this.random,
      bucket: options.bandwidth?.up,
      uploadSlots: options.uploadSlots,
    });
    const urls = options.readOnly ? [] : (options.webSeeds ?? []);
    this.webSeeds =
      urls.length === 0 ? undefined : (
        new WebSeedDriver(
          urls,
          {
            torrent: this.torrent,
            picker: this.picker,
            downloading: () => this.state === 'downloading',
            writesFull: () => this.downloads.writesFull,
            verifiedPiece: (i, data) => this.downloads.verifiedPiece(i, data),
            // A second argument says where it comes from: the CLI prints web-seed drops.
            warn: (line) => this.emit('warning', line, 'webseed'),
            bucket: options.bandwidth?.down,
          },
          options.webSeedOptions,
        )
      );
    this.extensions = new SessionExtensions({
      torrent: this.torrent,
      listenPort: () => this.listenPort,
      readyPeers: () => this.swarm.ready(),
      addPeers: (peers) => this.addPeers(peers),
      knowsUtp: (peer) => this.swarm.book.get(peer.label)?.utp !== undefined,
      encryptionRequired: options.encryption === 'require',
      now: this.now,
    });
  }

  /** Opens the storage and checks what is already on disk (trusting resume data where it may). */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`session already ${this.state}`);
    this.state = 'checking';
    this.storage = await TorrentStorage.open(this.torrent, this.options.outDir, {
      readOnly: this.options.readOnly,
      wantedFiles: this.options.wantedFiles,
    });
    const trust = this.options.trust?.(this.storage.stampsAtOpen());
    const valid = await this.storage.checkExisting((done, total) => this.emit('checking', done, total), trust);
    valid.forEach((ok, i) => ok && this.picker.markHave(i));
    if (this.state !== 'checking') return; // stopped while checking
    this.checked = true;
    log('%s: %d of %d pieces already on disk', this.torrent.name, this.picker.haveCount, this.torrent.pieces.length);
    this.state = this.picker.isComplete || this.options.readOnly ? 'seeding' : 'downloading';
    this.rateSamples = [{ at: this.now(), down: 0, up: 0 }];
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    if (this.picker.isComplete) this.emitComplete();
    this.swarm.connectMore();
    this.webSeeds?.fill();
  }

  /** Adds peer addresses (from trackers, the command line, PEX with its flags); connects as slots allow. */
  addPeers(peers: readonly PeerHint[]): void {
    this.swarm.add(peers);
  }

  /** An incoming connection whose handshake the listener read and routed here. */
  acceptIncoming(socket: PeerStream, address: PeerAddress, handshake: Handshake, rest: Buffer, transport: Transport = transportOf(socket)): void {
    this.swarm.accept(socket, address, handshake, rest, transport);
  }

  /** Bytes per second over the last few seconds, up to this moment (so never stale by a tick). */
  private rates(): { downloadRate: number; uploadRate: number } {
    const oldest = this.rateSamples[0];
    const dt = oldest ? (this.now() - oldest.at) / 1000 : 0;
    if (!oldest || dt < 0.2) return { downloadRate: 0, uploadRate: 0 };
    return {
      downloadRate: (this.downloads.downloaded - oldest.down) / dt,
      uploadRate: (this.uploads.uploaded - oldest.up) / dt,
    };
  }

  stats(): SessionStats {
    return {
      state: this.state,
      length: this.wantedLength,
      verified: this.picker.wantedVerifiedBytes,
      pieceCount: this.torrent.pieces.length,
      piecesHave: this.picker.haveCount,
      downloaded: this.downloads.downloaded,
      uploaded: this.uploads.uploaded,
      ...this.rates(),
      peersConnected: this.swarm.readyCount,
      peersKnown: this.swarm.book.size,
      hashFailures: this.downloads.hashFailures,
      webSeeds: this.webSeeds?.alive ?? 0,
    };
  }

  /** Connections open or being dialled (counted against the client's global limit). */
  get connectionCount(): number {
    return this.swarm.peers.size + this.swarm.book.dialingCount;
  }

  /** Reads bytes of a verified piece (for streaming a file out in order). */
  readData(index: number, begin: number, length: number): Promise<Buffer> {
    if (this.picker.have[index] !== 1) return Promise.reject(new Error(`piece ${index} is not verified`));
    return this.requireStorage().readBlock(index, begin, length);
  }

  /** Whether piece `index` is verified and written. */
  hasPiece(index: number): boolean {
    return this.picker.have[index] === 1;
  }

  /** The connected peers (for status views). */
  connectedPeers(): PeerConnection[] {
    return [...this.swarm.ready()];
  }

  get isComplete(): boolean {
    return this.picker.isComplete && this.downloads.pendingWrites.size === 0;
  }

  /**
   * What a resume file should say now: the pieces on disk and the files' stamps, taken in
   * that order, so a piece written in between makes its file look changed (and re-checked),
   * never the other way round. Undefined before the storage is open.
   */
  async resumeSnapshot(): Promise<ResumeSnapshot | undefined> {
    const storage = this.storage;
    if (!storage || !this.checked) return undefined;
    const bitfield = bitfieldOf(this.picker.have);
    const files = await storage.stampsNow();
    return { bitfield, files, downloaded: this.downloads.downloaded, uploaded: this.uploads.uploaded };
  }

  /** Closes every peer, waits for pending writes, closes the storage. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    this.swarm.closeAll('session stopping');
    this.webSeeds?.close();
    // Every verified piece reaches the disk before we say we stopped: nothing verified is lost.
    await this.downloads.drain();
    this.readCache.clear();
    await this.storage?.close();
    this.state = 'stopped';
    this.emit('stopped');
  }

  // --- peers ---------------------------------------------------------------------------

  private readonly handler: PeerHandler = {
    onReady: (peer) => {
      log('%s ready', peer.label);
      const record = this.swarm.book.get(peer.label);
      if (record) record.failures = 0;
      this.emit('peer', peer.label, 'connected');
      this.sendHaves(peer);
      this.uploads.welcome(peer, this.swarm.peers.values());
      this.extensions.onReady(peer);
      const dht = this.options.dht;
      if (dht && peer.remote && supportsDht(peer.remote.reserved)) peer.send({ type: 'port', port: dht.port });
    },
    onMessage: (peer, msg) => this.onMessage(peer, msg),
    onBlock: (peer, index, begin, block) => this.downloads.block(peer, index, begin, block),
    onRequestsDropped: (_peer, requests) => this.downloads.requestsDropped(requests),
    onClose: (peer, reason) => this.onPeerClosed(peer, reason),
  };

  /** Our pieces, first thing: have-all / have-none where BEP 6 allows, then the allowed-fast set. */
  private sendHaves(peer: PeerConnection): void {
    const fast = peer.fast;
    if (fast && this.picker.hasAll) peer.send({ type: 'have-all' });
    else if (this.picker.haveCount > 0) peer.send({ type: 'bitfield', bitfield: bitfieldOf(this.picker.have) });
    else if (fast) peer.send({ type: 'have-none' });
    // BEP 6: pieces this peer may fetch while we choke it, computed from its address so every
    // client computes the same set. A seed needs none.
    if (!fast) return;
    for (const index of allowedFastSet(this.torrent.infoHash, peer.address.host, this.torrent.pieces.length)) {
      peer.allowedFastToPeer.add(index);
      peer.send({ type: 'allowed-fast', index });
    }
  }

  private onPeerClosed(peer: PeerConnection, reason: PeerError): void {
    for (let i = 0; i < this.torrent.pieces.length; i++) if (peer.has.get(i)) this.picker.peerLostPiece(i);
    this.uploads.forget(peer);
    this.extensions.onClosed(peer);
    this.swarm.closed(peer, reason, peer.ext.bothSeeds === true);
    if (peer.remote) this.emit('peer', peer.label, 'closed', reason.message);
    if (this.state === 'downloading') this.downloads.fillAll();
  }

  private onMessage(peer: PeerConnection, msg: Message): void {
    switch (msg.type) {
      case 'have':
        this.picker.peerHasPiece(msg.index);
        this.updateInterest(peer);
        break;
      case 'bitfield':
      case 'have-all':
      case 'have-none': {
        // A later one replaces the earlier view: count only the difference, never twice.
        const before = peer.replacedHas;
        for (let i = 0; i < this.torrent.pieces.length; i++) {
          const now = peer.has.get(i);
          const was = before?.get(i) ?? false;
          if (now && !was) this.picker.peerHasPiece(i);
          else if (!now && was) this.picker.peerLostPiece(i);
        }
        this.updateInterest(peer);
        break;
      }
      case 'unchoke':
      case 'allowed-fast':
        this.downloads.fill(peer);
        break;
      case 'request':
        if (!this.uploads.request(peer, msg)) peer.close('EPEER_PROTOCOL', `bad request ${msg.index}:${msg.begin}+${msg.length}`);
        break;
      case 'cancel':
        this.uploads.cancel(peer, msg);
        break;
      case 'extended':
        this.extensions.onExtended(peer, msg.id, msg.payload);
        break;
      case 'port':
        // BEP 5: the peer runs a DHT node on this UDP port; the node pings it before trusting it.
        if (msg.port > 0) this.options.dht?.addNode({ host: peer.address.host, port: msg.port });
        break;
      default:
        break;
    }
  }

  private updateInterest(peer: PeerConnection): void {
    // A read-only seed never downloads, so it is never interested.
    if (this.picker.isComplete || this.options.readOnly) {
      // Two seeds have nothing to trade: free the slot for a peer that needs us.
      if (this.picker.isComplete && peer.has.isComplete()) {
        peer.ext.bothSeeds = true;
        peer.close('EPEER_LOCAL', 'both are seeds');
        return;
      }
      if (peer.amInterested) peer.send({ type: 'not-interested' });
      return;
    }
    const wants = this.downloads.wants(peer);
    if (wants && !peer.amInterested) peer.send({ type: 'interested' });
    else if (!wants && peer.amInterested && peer.requestCount === 0) peer.send({ type: 'not-interested' });
    if (wants) this.downloads.fill(peer);
  }

  // --- pieces --------------------------------------------------------------------------

  private pieceWritten(index: number): void {
    for (const peer of this.swarm.ready()) {
      // A seed gains nothing from our haves (we gain nothing to send it): spare the writes.
      if (!peer.has.isComplete()) peer.send({ type: 'have', index });
      if (peer.amInterested && !this.picker.isComplete) continue;
      this.updateInterest(peer);
    }
    this.emit('piece', index);
  }

  private emitComplete(): void {
    if (this.completeEmitted) return;
    this.completeEmitted = true;
    this.state = 'seeding';
    for (const peer of [...this.swarm.peers.values()]) this.updateInterest(peer);
    this.emit('complete');
  }

  private strike(label: string): void {
    const peer = this.swarm.peers.get(label);
    if (!peer) return;
    peer.strikes++;
    if (peer.strikes >= MAX_STRIKES) {
      this.emit('warning', `banned ${label}: sent ${peer.strikes} bad pieces`);
      this.swarm.ban(peer, 'too many pieces failed their hash check');
    }
  }

  // --- time ----------------------------------------------------------------------------

  private tick(): void {
    const now = this.now();
    for (const peer of [...this.swarm.peers.values()]) peer.tick();
    this.rateSamples.push({ at: now, down: this.downloads.downloaded, up: this.uploads.uploaded });
    if (this.rateSamples.length > RATE_WINDOW_SAMPLES) this.rateSamples.shift();
    this.uploads.tick(now, [...this.swarm.ready()]);
    this.extensions.tick();
    this.swarm.connectMore();
    if (this.state === 'downloading') {
      this.downloads.fillAll();
      this.webSeeds?.fill();
    }
    this.emit('tick');
  }

  private requireStorage(): TorrentStorage {
    if (!this.storage) throw new Error('storage is not open');
    return this.storage;
  }

  /** Our handshake, for the listener's use when routing. */
  handshakeBytes(): Buffer {
    return encodeHandshake({ infoHash: this.torrent.infoHash, peerId: this.options.peerId, reserved: this.reserved });
  }
}
