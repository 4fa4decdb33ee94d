import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import createDebug from 'debug';
import { pieceSize, type Torrent } from '../metainfo/index.js';
import { TorrentStorage } from '../storage/index.js';
import { encodeHandshake, type Message } from '../wire/index.js';
import { formatAddress, type PeerAddress } from '../peer/address.js';
import { BLOCK_LENGTH, PeerConnection, type BlockRequest, type Handshake, type PeerHandler } from '../peer/connection.js';
import { dial } from '../peer/dial.js';
import { ReadRelay } from '../peer/read-relay.js';
import type { PeerError } from '../peer/errors.js';
import { chooseUnchoked, CHOKE_ROUND_MS, DEFAULT_UPLOAD_SLOTS, OPTIMISTIC_ROUND_MS } from './choker.js';
import { PeerBook, type PeerRecord } from './peer-book.js';
import { PiecePicker, type PickerPeer } from './picker.js';
import { PieceReadCache } from './read-cache.js';
import { SessionExtensions } from './extensions.js';

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
  /** Keep serving once complete (until stop()). */
  readonly seed?: boolean;
  /**
   * Serve existing data only (`pytor seed`): the storage opens read-only, so nothing in
   * outDir is created or changed, and nothing is downloaded; pieces missing there stay missing.
   */
  readonly readOnly?: boolean;
  readonly random?: () => number;
  readonly now?: () => number;
  /** Bytes of verified pieces waiting for the disk before we stop asking for more. */
  readonly maxPendingWriteBytes?: number;
}

export interface SessionStats {
  readonly state: SessionState;
  readonly length: number;
  /** Bytes of verified pieces we hold. */
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
}

/** Strikes for bad data after which a peer is banned. */
const MAX_STRIKES = 3;
const CONNECT_TIMEOUT_MS = 5_000;
const MAX_DIALS_AT_ONCE = 16;
/** Requests a peer may queue with us; beyond this they are dropped. */
const MAX_UPLOAD_QUEUE = 256;
const READ_CACHE_BYTES = 16 * 1024 * 1024;
const TICK_MS = 1_000;
/** Rates average over this many ticks. */
const RATE_WINDOW_SAMPLES = 5;
/** A failed peer is retried after this, doubling per failure, and forgotten after a few. */
const RETRY_BASE_MS = 5_000;
const MAX_CONNECT_FAILURES = 5;
/** Addresses remembered at once (connected, to try, or banned). */
const MAX_KNOWN_PEERS = 2_000;

interface UploadRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/**
 * One torrent: its peers, the picker, the storage and the choker. Emits:
 * `checking` (done, total) while verifying existing data; `piece` (index) for each verified
 * piece; `peer` (label, 'connected' | 'closed', reason?); `warning` (message); `complete`
 * when every piece is verified and written; `stopped`.
 */
export class TorrentSession extends EventEmitter {
  state: SessionState = 'idle';
  readonly torrent: Torrent;
  private storage: TorrentStorage | undefined;
  readonly picker: PiecePicker;
  private readonly peers = new Map<string, PeerConnection>();
  private readonly book: PeerBook;
  private readonly uploads = new Map<PeerConnection, UploadRequest[]>();
  private readonly uploading = new Set<PeerConnection>();
  private readonly readCache: PieceReadCache;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxPeers: number;
  private readonly maxPendingWriteBytes: number;
  private pendingWriteBytes = 0;
  private readonly pendingWrites = new Set<Promise<void>>();
  private downloaded = 0;
  private uploaded = 0;
  /** Counters sampled each tick: rates are measured over the last few seconds. */
  private rateSamples: { at: number; down: number; up: number }[] = [];
  private hashFailures = 0;
  private lastChokeAt = 0;
  private lastOptimisticAt = 0;
  private optimistic: string | undefined;
  private readonly reserved = Buffer.alloc(8);
  private completeEmitted = false;
  /** BEP 10 state and ut_metadata / ut_pex (extensions.ts). */
  private readonly extensions: SessionExtensions;
  /** The port we listen on (told to peers in the BEP 10 handshake); 0 when not listening. */
  listenPort: number;

  constructor(private readonly options: SessionOptions) {
    super();
    this.torrent = options.torrent;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxPeers = options.maxPeers ?? 50;
    this.maxPendingWriteBytes = options.maxPendingWriteBytes ?? 16 * 1024 * 1024;
    this.book = new PeerBook({
      maxKnown: MAX_KNOWN_PEERS,
      retryBaseMs: RETRY_BASE_MS,
      maxFailures: MAX_CONNECT_FAILURES,
      giveUp: 'forget',
      now: this.now,
    });
    this.picker = new PiecePicker(
      { pieceCount: this.torrent.pieces.length, pieceLength: this.torrent.pieceLength, length: this.torrent.length },
      this.random,
      // Enough pieces in flight for a 500-block pipeline; about 24 MiB of piece buffers at most.
      Math.max(8, Math.min(256, Math.floor((24 * 1024 * 1024) / this.torrent.pieceLength))),
    );
    this.readCache = new PieceReadCache((i) => this.requireStorage().readPiece(i), READ_CACHE_BYTES);
    this.listenPort = options.listenPort ?? 0;
    this.extensions = new SessionExtensions({
      torrent: this.torrent,
      listenPort: () => this.listenPort,
      readyPeers: () => [...this.peers.values()].filter((p) => p.isReady),
      addPeers: (addresses) => this.addPeers(addresses),
      now: this.now,
    });
  }

  /** Opens the storage and checks what is already on disk. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`session already ${this.state}`);
    this.state = 'checking';
    this.storage = await TorrentStorage.open(this.torrent, this.options.outDir, { readOnly: this.options.readOnly });
    const valid = await this.storage.checkExisting((done, total) => this.emit('checking', done, total));
    valid.forEach((ok, i) => ok && this.picker.markHave(i));
    if (this.state !== 'checking') return; // stopped while checking
    log('%s: %d of %d pieces already on disk', this.torrent.name, this.picker.haveCount, this.torrent.pieces.length);
    this.state = this.picker.isComplete || this.options.readOnly ? 'seeding' : 'downloading';
    this.rateSamples = [{ at: this.now(), down: 0, up: 0 }];
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    if (this.picker.isComplete) this.emitComplete();
    this.connectMore();
  }

  /** Adds peer addresses (from trackers, the command line, PEX); connects as slots allow. */
  addPeers(addresses: readonly PeerAddress[]): void {
    for (const address of addresses) this.book.add(address);
    if (this.state === 'downloading' || this.state === 'seeding') this.connectMore();
  }

  /** An incoming connection whose handshake the listener read and routed here. */
  acceptIncoming(socket: Socket, address: PeerAddress, handshake: Handshake, rest: Buffer): void {
    const banned = this.book.isBanned(formatAddress(address));
    if ((this.state !== 'downloading' && this.state !== 'seeding') || this.peers.size >= this.maxPeers || banned) {
      socket.destroy();
      return;
    }
    this.attach(socket, address, { handshake, rest });
  }

  /** Bytes per second over the last few seconds, up to this moment (so never stale by a tick). */
  private rates(): { downloadRate: number; uploadRate: number } {
    const oldest = this.rateSamples[0];
    const dt = oldest ? (this.now() - oldest.at) / 1000 : 0;
    if (!oldest || dt < 0.2) return { downloadRate: 0, uploadRate: 0 };
    return { downloadRate: (this.downloaded - oldest.down) / dt, uploadRate: (this.uploaded - oldest.up) / dt };
  }

  stats(): SessionStats {
    return {
      state: this.state,
      length: this.torrent.length,
      verified: this.picker.verifiedBytes,
      pieceCount: this.torrent.pieces.length,
      piecesHave: this.picker.haveCount,
      downloaded: this.downloaded,
      uploaded: this.uploaded,
      ...this.rates(),
      peersConnected: [...this.peers.values()].filter((p) => p.isReady).length,
      peersKnown: this.book.size,
      hashFailures: this.hashFailures,
    };
  }

  get isComplete(): boolean {
    return this.picker.isComplete && this.pendingWrites.size === 0;
  }

  /** Closes every peer, waits for pending writes, closes the storage. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    for (const peer of [...this.peers.values()]) peer.close('EPEER_LOCAL', 'session stopping');
    // Every verified piece reaches the disk before we say we stopped: nothing verified is lost.
    while (this.pendingWrites.size > 0) await Promise.allSettled([...this.pendingWrites]);
    this.readCache.clear();
    await this.storage?.close();
    this.state = 'stopped';
    this.emit('stopped');
  }

  // --- connections -------------------------------------------------------------------

  private connectMore(): void {
    const dialing = this.book.dialingCount;
    const budget = Math.min(this.maxPeers - this.peers.size - dialing, MAX_DIALS_AT_ONCE - dialing);
    if (budget <= 0) return;
    for (const record of this.book.takeDue(budget, (label) => this.peers.has(label))) this.dial(record);
  }

  private dial(record: PeerRecord): void {
    const relay = new ReadRelay();
    dial(record.address, CONNECT_TIMEOUT_MS, undefined, relay).then(
      (socket) => {
        this.book.dialEnded(record);
        if (this.state !== 'downloading' && this.state !== 'seeding') {
          socket.destroy();
          return;
        }
        this.attach(socket, record.address, undefined, relay);
      },
      (err: PeerError) => {
        this.book.dialEnded(record);
        this.connectFailed(record, err.message);
      },
    );
  }

  private connectFailed(record: PeerRecord, why: string): void {
    this.book.failed(record);
    log('connect %s failed (%d): %s', record.label, record.failures, why);
  }

  private attach(
    socket: Socket,
    address: PeerAddress,
    accepted: { handshake: Handshake; rest: Buffer } | undefined,
    relay?: ReadRelay,
  ): void {
    const label = formatAddress(address);
    if (this.peers.has(label)) {
      socket.destroy();
      return;
    }
    const record = accepted ? this.book.incoming(address) : this.book.get(label);
    if (record) record.connected = true;
    const peer = new PeerConnection(
      socket,
      address,
      {
        infoHash: this.torrent.infoHash,
        peerId: this.options.peerId,
        pieceCount: this.torrent.pieces.length,
        reserved: this.reserved,
        now: this.now,
        accepted,
        relay,
      },
      this.handler,
    );
    if (!peer.isClosed) this.peers.set(label, peer);
  }

  private readonly handler: PeerHandler = {
    onReady: (peer) => {
      log('%s ready', peer.label);
      const record = this.book.get(peer.label);
      if (record) record.failures = 0;
      this.emit('peer', peer.label, 'connected');
      if (this.picker.haveCount > 0) {
        const bits = Buffer.alloc(Math.ceil(this.torrent.pieces.length / 8));
        for (let i = 0; i < this.picker.have.length; i++) if (this.picker.have[i]) bits[i >> 3]! |= 0x80 >> (i & 7);
        peer.send({ type: 'bitfield', bitfield: bits });
      }
      // Newcomers get a slot at once when one is free, rather than waiting a whole round.
      if (this.unchokedCount() < DEFAULT_UPLOAD_SLOTS) peer.send({ type: 'unchoke' });
      this.extensions.onReady(peer);
    },
    onMessage: (peer, msg) => this.onMessage(peer, msg),
    onBlock: (peer, index, begin, block) => this.onBlock(peer, index, begin, block),
    onRequestsDropped: (_peer, requests) => this.requestsDropped(requests),
    onClose: (peer, reason) => this.onPeerClosed(peer, reason),
  };

  private onPeerClosed(peer: PeerConnection, reason: PeerError): void {
    if (this.peers.get(peer.label) === peer) this.peers.delete(peer.label);
    for (let i = 0; i < this.torrent.pieces.length; i++) if (peer.has.get(i)) this.picker.peerLostPiece(i);
    this.uploads.delete(peer);
    this.extensions.onClosed(peer);
    const record = this.book.get(peer.label);
    if (record) {
      record.connected = false;
      // isReady is already false here (the peer is closed): `remote` tells whether the handshake ever completed.
      if (peer.remote === undefined && reason.code !== 'EPEER_LOCAL') this.connectFailed(record, reason.message);
      else this.book.retryAfter(record, RETRY_BASE_MS);
      if (reason.code === 'EPEER_SELF' || reason.code === 'EPEER_INFOHASH') this.book.forget(peer.label);
    }
    if (peer.remote) this.emit('peer', peer.label, 'closed', reason.message);
    if (this.state === 'downloading') this.fillAll();
  }

  private onMessage(peer: PeerConnection, msg: Message): void {
    switch (msg.type) {
      case 'have':
        this.picker.peerHasPiece(msg.index);
        this.updateInterest(peer);
        break;
      case 'bitfield':
      case 'have-all':
        for (let i = 0; i < this.torrent.pieces.length; i++) if (peer.has.get(i)) this.picker.peerHasPiece(i);
        this.updateInterest(peer);
        break;
      case 'unchoke':
        this.fill(peer);
        break;
      case 'interested':
      case 'not-interested':
        break;
      case 'request':
        this.queueUpload(peer, msg);
        break;
      case 'cancel': {
        const queue = this.uploads.get(peer);
        if (queue) {
          const i = queue.findIndex((r) => r.index === msg.index && r.begin === msg.begin && r.length === msg.length);
          if (i >= 0) queue.splice(i, 1);
        }
        break;
      }
      case 'extended':
        this.extensions.onExtended(peer, msg.id, msg.payload);
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
        peer.close('EPEER_LOCAL', 'both are seeds');
        return;
      }
      if (peer.amInterested) peer.send({ type: 'not-interested' });
      return;
    }
    const wants = this.picker.wants(pickerView(peer));
    if (wants && !peer.amInterested) peer.send({ type: 'interested' });
    else if (!wants && peer.amInterested && peer.requestCount === 0) peer.send({ type: 'not-interested' });
    if (wants) this.fill(peer);
  }

  // --- downloading -------------------------------------------------------------------

  /** How many requests to keep in flight to a peer: about a second of its rate, bounded. */
  private pipelineDepth(peer: PeerConnection): number {
    const byRate = Math.ceil(peer.downloadRate / BLOCK_LENGTH);
    // Past ~500 blocks (8 MiB) in flight nothing is gained on loopback, only memory (measured).
    const cap = Math.min(peer.maxRequests ?? 500, 500);
    return Math.max(32, Math.min(cap, byRate));
  }

  private fill(peer: PeerConnection): void {
    if (this.state !== 'downloading' || peer.peerChoking || !peer.amInterested || !peer.isReady) return;
    if (this.pendingWriteBytes >= this.maxPendingWriteBytes) return;
    const depth = this.pipelineDepth(peer);
    const want = depth - peer.requestCount;
    // Top up in batches: one write of many requests beats many writes of one.
    if (want < Math.min(16, depth / 4)) return;
    const picked = this.picker.pick(pickerView(peer), want);
    for (const r of picked) peer.request(r.index, r.begin, r.length);
    peer.flush();
  }

  private fillAll(): void {
    for (const peer of this.peers.values()) this.fill(peer);
  }

  private requestsDropped(requests: readonly BlockRequest[]): void {
    for (const r of requests) this.picker.requestDropped(r.index, r.begin);
    if (this.state === 'downloading') queueMicrotask(() => this.fillAll());
  }

  private onBlock(peer: PeerConnection, index: number, begin: number, block: Buffer): void {
    this.downloaded += block.length;
    const outcome = this.picker.blockReceived(index, begin, block, peer.label);
    if (this.picker.inEndgame() || outcome.kind === 'complete') {
      // Someone else may still be fetching this block: tell them not to bother.
      for (const other of this.peers.values()) {
        if (other !== peer && other.isRequested(index, begin)) other.cancel(index, begin, block.length);
      }
    }
    if (outcome.kind === 'complete') this.pieceComplete(outcome.piece.index, outcome.piece.buffer, outcome.piece.contributors);
    this.fill(peer);
  }

  private pieceComplete(index: number, buffer: Buffer, contributors: ReadonlySet<string>): void {
    const ok = createHash('sha1').update(buffer).digest().equals(this.torrent.pieces[index]!);
    if (!ok) {
      this.hashFailures++;
      this.picker.markFailed(index);
      this.picker.release(buffer);
      this.emit('warning', `piece ${index} failed its hash check`);
      for (const label of contributors) this.strike(label);
      return;
    }
    this.pendingWriteBytes += buffer.length;
    const write = this.requireStorage()
      .writePiece(index, buffer)
      .then(
        () => {
          this.picker.markHave(index);
          this.picker.release(buffer);
          for (const peer of this.peers.values()) {
            if (peer.isReady) {
              // A seed gains nothing from our haves (we gain nothing to send it): spare the writes.
              if (!peer.has.isComplete()) peer.send({ type: 'have', index });
              if (peer.amInterested && !this.picker.isComplete) continue;
              this.updateInterest(peer);
            }
          }
          this.emit('piece', index);
        },
        (err: Error) => {
          this.picker.markFailed(index);
          this.emit('error', err);
        },
      )
      .finally(() => {
        this.pendingWriteBytes -= buffer.length;
        this.pendingWrites.delete(write);
        if (this.state === 'downloading') {
          if (this.picker.isComplete && this.pendingWrites.size === 0) this.emitComplete();
          else this.fillAll();
        }
      });
    this.pendingWrites.add(write);
  }

  private emitComplete(): void {
    if (this.completeEmitted) return;
    this.completeEmitted = true;
    this.state = 'seeding';
    for (const peer of this.peers.values()) this.updateInterest(peer);
    this.emit('complete');
  }

  private strike(label: string): void {
    const peer = this.peers.get(label);
    if (!peer) return;
    peer.strikes++;
    if (peer.strikes >= MAX_STRIKES) {
      this.book.ban(label, peer.address);
      this.emit('warning', `banned ${label}: sent ${peer.strikes} bad pieces`);
      peer.close('EPEER_BANNED', 'too many pieces failed their hash check');
    }
  }

  // --- uploading ---------------------------------------------------------------------

  private queueUpload(peer: PeerConnection, msg: UploadRequest): void {
    const { index, begin, length } = msg;
    if (index >= this.torrent.pieces.length || length === 0 || length > BLOCK_LENGTH || begin + length > pieceSize(this.torrent, index)) {
      peer.close('EPEER_PROTOCOL', `bad request ${index}:${begin}+${length}`);
      return;
    }
    // BEP 3: requests made while choked are dropped; so are those for pieces we lack.
    if (peer.amChoking || !this.picker.have[index]) return;
    let queue = this.uploads.get(peer);
    if (!queue) this.uploads.set(peer, (queue = []));
    if (queue.length >= MAX_UPLOAD_QUEUE) return;
    queue.push(msg);
    void this.pumpUploads(peer);
  }

  /** Sends queued blocks to one peer, one read at a time, while its socket has room. */
  private async pumpUploads(peer: PeerConnection): Promise<void> {
    if (this.uploading.has(peer)) return;
    this.uploading.add(peer);
    try {
      while (!peer.isClosed && !peer.amChoking) {
        const queue = this.uploads.get(peer);
        const next = queue?.shift();
        if (!next) break;
        if (!peer.canUpload) await waitDrain(peer.socket);
        const block = await this.readCache.block(next.index, next.begin, next.length);
        if (peer.isClosed || peer.amChoking) break;
        peer.sendBlock(next.index, next.begin, block);
        this.uploaded += block.length;
      }
    } catch (err) {
      this.emit('warning', `upload to ${peer.label} failed: ${(err as Error).message}`);
    } finally {
      this.uploading.delete(peer);
    }
  }

  private unchokedCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (!p.amChoking) n++;
    return n;
  }

  private runChoker(now: number): void {
    const rotate = now - this.lastOptimisticAt >= OPTIMISTIC_ROUND_MS;
    if (rotate) this.lastOptimisticAt = now;
    const seeding = this.picker.isComplete || this.options.readOnly === true;
    const ready = [...this.peers.values()].filter((p) => p.isReady);
    const { unchoked, optimistic } = chooseUnchoked(
      ready.map((p) => ({ id: p.label, interested: p.peerInterested, rate: seeding ? p.uploadRate : p.downloadRate })),
      DEFAULT_UPLOAD_SLOTS,
      this.optimistic,
      rotate,
      this.random,
    );
    this.optimistic = optimistic;
    for (const p of ready) {
      if (unchoked.has(p.label) && p.amChoking) p.send({ type: 'unchoke' });
      else if (!unchoked.has(p.label) && !p.amChoking && p.peerInterested) {
        p.send({ type: 'choke' });
        this.uploads.delete(p);
      }
    }
  }

  // --- time ----------------------------------------------------------------------------

  private tick(): void {
    const now = this.now();
    for (const peer of [...this.peers.values()]) peer.tick();
    this.rateSamples.push({ at: now, down: this.downloaded, up: this.uploaded });
    if (this.rateSamples.length > RATE_WINDOW_SAMPLES) this.rateSamples.shift();
    if (now - this.lastChokeAt >= CHOKE_ROUND_MS) {
      this.lastChokeAt = now;
      this.runChoker(now);
    }
    this.extensions.tick();
    this.connectMore();
    if (this.state === 'downloading') this.fillAll();
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

function pickerView(peer: PeerConnection): PickerPeer {
  return {
    has: (i) => peer.has.get(i),
    isRequested: (i, b) => peer.isRequested(i, b),
  };
}

function waitDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}
