/**
 * BEP 9 metadata exchange for a magnet link: find the info dict among peers before there is
 * a Torrent. Two parts:
 * - MetadataAssembler: pure bookkeeping (which 16 KiB piece from whom, size agreement,
 *   SHA-1 against the info-hash). No sockets, no timers: tested on its own.
 * - MetadataFetcher: the connections. Each speaks only what metadata needs (handshake, BEP 10
 *   handshake, ut_metadata); everything else a peer sends is read and ignored. Once the dict
 *   is verified the connections are closed and a normal TorrentSession reconnects to the same
 *   peers: simpler than handing sockets over, at the cost of one reconnect per peer.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PeerStream, Transport } from '../peer/stream.js';
import createDebug from 'debug';
import {
  decodeExtendedHandshake,
  decodeHandshake,
  decodeUtMetadata,
  encodeExtendedHandshake,
  encodeHandshake,
  encodeMessage,
  encodeUtMetadata,
  Framer,
  HANDSHAKE_LENGTH,
  MAX_METADATA_SIZE,
  metadataPieceCount,
  METADATA_PIECE_LENGTH,
  supportsExtensionProtocol,
  type Message,
} from '../wire/index.js';
import { formatAddress, type PeerAddress } from '../peer/address.js';
import { dialPeer, type UtpConnector } from '../peer/dial.js';
import type { EncryptionPolicy } from '../mse/index.js';
import type { Handshake } from '../peer/connection.js';
import { CLIENT_VERSION, EXT_UT_METADATA } from './extensions.js';
import { dialChoice, PeerBook, type PeerHint, type PeerRecord } from './peer-book.js';

const log = createDebug('pytor:metadata');

/** Metadata pieces asked of one peer at once. */
const MAX_REQUESTS_PER_PEER = 8;
/** A request unanswered this long goes to another peer. */
const REQUEST_TIMEOUT_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;
/** Close a peer that has not sent its extended handshake (or any usable answer) by then. */
const EXTENDED_HANDSHAKE_TIMEOUT_MS = 15_000;
const TICK_MS = 500;
const RETRY_BASE_MS = 3_000;
const USELESS_RETRY_MS = 30_000;
const MAX_CONNECT_FAILURES = 5;
/** Known addresses kept (trackers and magnet `x.pe`); more are ignored. */
const MAX_KNOWN = 1000;
/** Bytes the framer may hold undecoded: one 16 KiB data message plus reads; bitfields up to ~52 KiB. */
const MAX_BUFFERED_BYTES = 256 * 1024;

// --- the pure part -------------------------------------------------------------------------

export type OfferResult =
  | { readonly kind: 'accepted' }
  /** The peer announced a size other than the one being assembled: it cannot help (now). */
  | { readonly kind: 'mismatch'; readonly size: number; readonly expected: number }
  | { readonly kind: 'refused'; readonly reason: string };

export type DataResult =
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'stored' }
  | { readonly kind: 'complete'; readonly info: Buffer }
  /** The assembled bytes did not hash to the info-hash: everything is discarded. */
  | { readonly kind: 'bad-hash'; readonly contributors: readonly string[] };

interface Slot {
  data: Buffer | undefined;
  from: string | undefined;
  /** Who has it on request, and since when. */
  askedOf: string | undefined;
  askedAt: number;
}

/**
 * Puts the info dict together from 16 KiB pieces. The size is adopted from the first peer
 * that offers one; peers that disagree are not asked. When the whole does not hash to the
 * info-hash, every piece is dropped, the contributors are reported (to be banned) and the
 * next offer may set a new size.
 */
export class MetadataAssembler {
  private sizeValue: number | undefined;
  private slots: Slot[] = [];
  /** Per peer, pieces it rejected (BEP 9: it does not have them). */
  private readonly rejected = new Map<string, Set<number>>();
  private done: Buffer | undefined;

  constructor(readonly infoHash: Buffer) {}

  get size(): number | undefined {
    return this.sizeValue;
  }

  get pieceCount(): number {
    return this.slots.length;
  }

  get piecesHave(): number {
    let n = 0;
    for (const s of this.slots) if (s.data) n++;
    return n;
  }

  get result(): Buffer | undefined {
    return this.done;
  }

  /** A peer says it has `size` bytes of metadata. */
  offer(peer: string, size: number): OfferResult {
    if (!Number.isInteger(size) || size < 1 || size > MAX_METADATA_SIZE) {
      return { kind: 'refused', reason: `metadata_size ${size} is not in 1..${MAX_METADATA_SIZE}` };
    }
    if (this.sizeValue === undefined) {
      this.sizeValue = size;
      this.slots = Array.from({ length: metadataPieceCount(size) }, () => ({ data: undefined, from: undefined, askedOf: undefined, askedAt: 0 }));
      log('metadata is %d bytes (%d pieces), as %s says', size, this.slots.length, peer);
      return { kind: 'accepted' };
    }
    if (size !== this.sizeValue) return { kind: 'mismatch', size, expected: this.sizeValue };
    return { kind: 'accepted' };
  }

  /** Pieces to ask `peer` for now (marked as asked), at most `max`. */
  nextRequests(peer: string, max: number, now: number): number[] {
    if (this.done || this.sizeValue === undefined) return [];
    const refused = this.rejected.get(peer);
    const out: number[] = [];
    for (let i = 0; i < this.slots.length && out.length < max; i++) {
      const s = this.slots[i]!;
      if (s.data || s.askedOf !== undefined || refused?.has(i)) continue;
      s.askedOf = peer;
      s.askedAt = now;
      out.push(i);
    }
    return out;
  }

  /** Pieces `peer` is being asked for right now. */
  outstanding(peer: string): number {
    let n = 0;
    for (const s of this.slots) if (s.askedOf === peer) n++;
    return n;
  }

  /** Requests older than timeoutMs go back to the pool. */
  expire(now: number, timeoutMs: number): void {
    for (const s of this.slots) if (s.askedOf !== undefined && now - s.askedAt > timeoutMs) s.askedOf = undefined;
  }

  /** The peer is gone: its requests go back to the pool. */
  forget(peer: string): void {
    for (const s of this.slots) if (s.askedOf === peer) s.askedOf = undefined;
    this.rejected.delete(peer);
  }

  reject(peer: string, piece: number): void {
    const s = this.slots[piece];
    if (s && s.askedOf === peer) s.askedOf = undefined;
    let set = this.rejected.get(peer);
    if (!set) this.rejected.set(peer, (set = new Set()));
    set.add(piece);
  }

  /** A data message. `totalSize` and the length were checked by the codec against the announced size. */
  data(peer: string, piece: number, totalSize: number, bytes: Buffer): DataResult {
    if (this.done) return { kind: 'ignored', reason: 'metadata already complete' };
    if (totalSize !== this.sizeValue) return { kind: 'ignored', reason: `total_size ${totalSize} is not ${this.sizeValue}` };
    const s = this.slots[piece];
    if (!s) return { kind: 'ignored', reason: `piece ${piece} out of range` };
    // Only what we asked this peer for: unsolicited pieces could poison the assembly.
    if (s.askedOf !== peer) return { kind: 'ignored', reason: `piece ${piece} was not asked of ${peer}` };
    const expected = Math.min(METADATA_PIECE_LENGTH, totalSize - piece * METADATA_PIECE_LENGTH);
    if (bytes.length !== expected) return { kind: 'ignored', reason: `piece ${piece} has ${bytes.length} bytes, not ${expected}` };
    s.data = Buffer.from(bytes);
    s.from = peer;
    s.askedOf = undefined;
    if (this.slots.some((x) => !x.data)) return { kind: 'stored' };
    const info = Buffer.concat(this.slots.map((x) => x.data!), totalSize);
    if (createHash('sha1').update(info).digest().equals(this.infoHash)) {
      this.done = info;
      return { kind: 'complete', info };
    }
    const contributors = [...new Set(this.slots.map((x) => x.from!))];
    this.sizeValue = undefined;
    this.slots = [];
    this.rejected.clear();
    return { kind: 'bad-hash', contributors };
  }
}

// --- the network part --------------------------------------------------------------------

export interface MetadataFetcherOptions {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  /** Our listen port, told to peers in `p` (0 or absent when not listening). */
  readonly listenPort?: () => number;
  readonly maxPeers?: number;
  readonly now?: () => number;
  /** Protocol encryption for outgoing connections (default 'prefer'). */
  readonly encryption?: EncryptionPolicy;
  /** Outgoing uTP, chosen per peer as the download session does (peer-book.ts dialChoice). */
  readonly utp?: UtpConnector;
}

export interface MetadataStats {
  readonly peersConnected: number;
  readonly peersKnown: number;
  /** Peers that offered metadata of the size being assembled. */
  readonly peersWithMetadata: number;
  readonly size: number | undefined;
  readonly piecesHave: number;
  readonly pieceCount: number;
}

/**
 * Connects to peers, fetches and verifies the info dict. Emits `warning` (message) and
 * `progress` (stats). fetch() resolves with the verified bytes; stop() ends everything.
 */
export class MetadataFetcher extends EventEmitter {
  readonly assembler: MetadataAssembler;
  private readonly book: PeerBook;
  private readonly conns = new Map<string, MetadataConnection>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  private readonly maxPeers: number;
  private resolveFetch: ((info: Buffer) => void) | undefined;
  private rejectFetch: ((err: Error) => void) | undefined;

  constructor(private readonly options: MetadataFetcherOptions) {
    super();
    this.assembler = new MetadataAssembler(options.infoHash);
    this.now = options.now ?? Date.now;
    this.maxPeers = options.maxPeers ?? 30;
    // A peer that keeps failing here is banned: the download session is not handed it either.
    this.book = new PeerBook({
      maxKnown: MAX_KNOWN,
      retryBaseMs: RETRY_BASE_MS,
      maxFailures: MAX_CONNECT_FAILURES,
      giveUp: 'ban',
      now: this.now,
    });
  }

  /** Resolves with the verified info dict; rejects only when stopped first. */
  fetch(): Promise<Buffer> {
    if (this.assembler.result) return Promise.resolve(this.assembler.result);
    return new Promise((resolve, reject) => {
      this.resolveFetch = resolve;
      this.rejectFetch = reject;
      if (!this.timer && !this.stopped) this.timer = setInterval(() => this.tick(), TICK_MS);
      this.connectMore();
    });
  }

  addPeers(peers: readonly PeerHint[]): void {
    for (const peer of peers) this.book.add(peer);
    if (this.resolveFetch) this.connectMore();
  }

  /**
   * Addresses worth handing to the download session afterwards (not banned ones), with what
   * was learnt of their transport, so the session dials a uTP peer over uTP first.
   */
  knownPeers(): PeerHint[] {
    return [...this.book.values()].filter((r) => r.dialable && !r.banned).map((r) => ({ ...r.address, ...(r.utp !== undefined ? { utp: true } : {}) }));
  }

  acceptIncoming(socket: PeerStream, address: PeerAddress, handshake: Handshake, rest: Buffer, transport: Transport = 'tcp'): void {
    if (this.stopped || this.conns.size >= this.maxPeers || this.book.isBanned(formatAddress(address))) {
      socket.destroy();
      return;
    }
    this.attach(socket, address, transport, { handshake, rest });
  }

  stats(): MetadataStats {
    let ready = 0;
    let offering = 0;
    for (const c of this.conns.values()) {
      if (c.ready) ready++;
      if (c.offeredSize !== undefined && c.offeredSize === this.assembler.size) offering++;
    }
    return {
      peersConnected: ready,
      peersKnown: this.book.size,
      peersWithMetadata: offering,
      size: this.assembler.size,
      piecesHave: this.assembler.piecesHave,
      pieceCount: this.assembler.pieceCount,
    };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of [...this.conns.values()]) c.close('fetcher stopping');
    if (this.rejectFetch && !this.assembler.result) this.rejectFetch(new Error('metadata fetch stopped'));
    this.resolveFetch = this.rejectFetch = undefined;
  }

  private tick(): void {
    const now = this.now();
    this.assembler.expire(now, REQUEST_TIMEOUT_MS);
    for (const c of [...this.conns.values()]) c.tick(now);
    for (const c of this.conns.values()) this.request(c);
    this.connectMore();
    this.emit('progress', this.stats());
  }

  private connectMore(): void {
    if (this.stopped) return;
    const budget = this.maxPeers - this.conns.size - this.book.dialingCount;
    if (budget <= 0) return;
    for (const record of this.book.takeDue(budget, (label) => this.conns.has(label))) {
      const choice = dialChoice(record, this.options.utp !== undefined);
      log('dial %s over %s first: %s', record.label, choice.first === 'utp' ? 'uTP' : 'TCP', choice.why);
      const opts = { timeoutMs: CONNECT_TIMEOUT_MS, encryption: this.options.encryption ?? 'prefer', infoHash: this.options.infoHash, utp: this.options.utp, first: choice.first };
      dialPeer(record.address, opts).then(
        ({ stream: socket, transport }) => {
          this.book.dialEnded(record);
          if (this.stopped) socket.destroy();
          else {
            log('connected to %s over %s', record.label, transport === 'utp' ? 'uTP' : 'TCP');
            this.attach(socket, record.address, transport, undefined);
          }
        },
        (err: Error) => {
          this.book.dialEnded(record);
          this.failed(record, err.message);
        },
      );
    }
  }

  private failed(record: PeerRecord, why: string): void {
    this.book.failed(record);
    log('%s failed (%d): %s', record.label, record.failures, why);
  }

  private attach(socket: PeerStream, address: PeerAddress, transport: Transport, accepted: { handshake: Handshake; rest: Buffer } | undefined): void {
    const label = formatAddress(address);
    if (this.conns.has(label)) {
      socket.destroy();
      return;
    }
    const record = this.book.get(label);
    if (record) {
      record.connected = true;
      this.book.connectedOver(record, transport);
    }
    const conn = new MetadataConnection(socket, label, this.options, this.now, {
      onExtendedHandshake: (c, size, listenPort) => {
        // An incoming peer that told us its port can be dialled again by the download session.
        if (accepted && listenPort !== undefined) this.addPeers([{ host: address.host, port: listenPort, utp: transport === 'utp' }]);
        this.onOffer(c, size);
      },
      onUtMetadata: (c, payload) => this.onUtMetadata(c, payload),
      onClose: (c, why, ok) => {
        if (this.conns.get(c.label) === c) this.conns.delete(c.label);
        this.assembler.forget(c.label);
        const r = this.book.get(c.label);
        if (r) {
          r.connected = false;
          if (!ok && !this.stopped) this.failed(r, why);
          // It could not help (no BEP 10, no metadata): ask again later, not at once.
          else this.book.retryAfter(r, USELESS_RETRY_MS);
        }
        if (!this.stopped) this.connectMore();
      },
    });
    this.conns.set(label, conn);
    conn.start(accepted);
  }

  private onOffer(c: MetadataConnection, size: number | undefined): void {
    if (size === undefined) {
      if (!c.hasUtMetadata) c.close('offers no metadata', true);
      return; // ut_metadata without a size: BEP 9 lets it say so in a later handshake
    }
    const r = this.assembler.offer(c.label, size);
    if (r.kind === 'refused') {
      c.close(r.reason, false);
      return;
    }
    if (r.kind === 'mismatch') {
      this.emit('warning', `${c.label} says the metadata is ${r.size} bytes, others ${r.expected}: not asking it`);
      return;
    }
    this.request(c);
  }

  private request(c: MetadataConnection): void {
    if (!c.ready || c.offeredSize === undefined || c.offeredSize !== this.assembler.size || c.utMetadataId === undefined) return;
    const room = MAX_REQUESTS_PER_PEER - this.assembler.outstanding(c.label);
    if (room <= 0) return;
    for (const piece of this.assembler.nextRequests(c.label, room, this.now())) c.sendUtMetadata(encodeUtMetadata({ type: 'request', piece }));
  }

  private onUtMetadata(c: MetadataConnection, payload: Buffer): void {
    const decoded = decodeUtMetadata(payload, { metadataSize: c.offeredSize });
    if (decoded.kind === 'error') {
      c.close(decoded.err.message, false);
      this.banLabel(c.label);
      return;
    }
    const msg = decoded.value;
    switch (msg.type) {
      case 'request':
        // We have no metadata yet: BEP 9 says reject.
        c.sendUtMetadata(encodeUtMetadata({ type: 'reject', piece: msg.piece }));
        return;
      case 'reject':
        this.assembler.reject(c.label, msg.piece);
        this.request(c);
        return;
      case 'unknown':
        return;
      case 'data': {
        const r = this.assembler.data(c.label, msg.piece, msg.totalSize, msg.data);
        if (r.kind === 'ignored') log('%s: data ignored: %s', c.label, r.reason);
        else if (r.kind === 'bad-hash') {
          this.emit('warning', `metadata from ${r.contributors.join(', ')} does not match the info-hash; discarded`);
          for (const label of r.contributors) {
            this.banLabel(label);
            this.conns.get(label)?.close('sent metadata that failed the hash check', false);
          }
          // Peers that announced another size may now be right.
          for (const other of this.conns.values()) if (other.offeredSize !== undefined) this.onOffer(other, other.offeredSize);
        } else if (r.kind === 'complete') {
          log('metadata complete: %d bytes', r.info.length);
          const resolve = this.resolveFetch;
          this.resolveFetch = this.rejectFetch = undefined;
          resolve?.(r.info);
          return;
        }
        this.request(c);
        return;
      }
    }
  }

  private banLabel(label: string): void {
    this.book.ban(label);
  }
}

interface ConnectionHooks {
  onExtendedHandshake(c: MetadataConnection, metadataSize: number | undefined, listenPort: number | undefined): void;
  onUtMetadata(c: MetadataConnection, payload: Buffer): void;
  /** `ok`: closed for no fault of the peer (e.g. it has no metadata, or we stopped). */
  onClose(c: MetadataConnection, why: string, ok: boolean): void;
}

/** One socket during metadata exchange. */
class MetadataConnection {
  ready = false;
  offeredSize: number | undefined;
  utMetadataId: number | undefined;
  hasUtMetadata = false;
  private handshakeBuffer: Buffer | undefined = Buffer.alloc(0);
  private readonly framer = new Framer({ pieceCount: null });
  private closed = false;
  private readonly createdAt: number;
  private extendedSeen = false;
  private lastSentAt: number;

  constructor(
    private readonly socket: PeerStream,
    readonly label: string,
    private readonly options: MetadataFetcherOptions,
    private readonly now: () => number,
    private readonly hooks: ConnectionHooks,
  ) {
    this.createdAt = this.lastSentAt = now();
  }

  start(accepted: { handshake: Handshake; rest: Buffer } | undefined): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.close(err.code ?? err.message, false));
    this.socket.on('close', () => this.close('connection closed', false));
    this.write(encodeHandshake({ infoHash: this.options.infoHash, peerId: this.options.peerId, extensionProtocol: true }));
    if (accepted) {
      this.handshakeBuffer = undefined;
      this.onHandshake(accepted.handshake);
      if (!this.closed && accepted.rest.length > 0) this.onData(accepted.rest);
    }
  }

  tick(now: number): void {
    if (this.closed) return;
    if (!this.ready && now - this.createdAt > HANDSHAKE_TIMEOUT_MS) this.close('no handshake in time', false);
    else if (this.ready && !this.extendedSeen && now - this.createdAt > EXTENDED_HANDSHAKE_TIMEOUT_MS) this.close('no extended handshake in time', true);
    else if (now - this.lastSentAt > 60_000) this.write(encodeMessage({ type: 'keep-alive' }));
  }

  sendUtMetadata(payload: Buffer): void {
    if (this.utMetadataId === undefined) return;
    this.write(encodeMessage({ type: 'extended', id: this.utMetadataId, payload }));
  }

  close(why: string, ok = true): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.socket.destroy();
    log('%s closed: %s', this.label, why);
    this.hooks.onClose(this, why, ok);
  }

  private write(buf: Buffer): void {
    if (this.closed) return;
    this.socket.write(buf);
    this.lastSentAt = this.now();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.handshakeBuffer !== undefined) {
      this.handshakeBuffer = Buffer.concat([this.handshakeBuffer, chunk]);
      const r = decodeHandshake(this.handshakeBuffer);
      if (r.kind === 'need-more') return;
      if (r.kind === 'error') return this.close(r.err.message, false);
      const rest = this.handshakeBuffer.subarray(HANDSHAKE_LENGTH);
      this.handshakeBuffer = undefined;
      this.onHandshake(r);
      if (this.closed || rest.length === 0) return;
      chunk = rest;
    }
    this.framer.push(chunk);
    if (this.framer.bufferedBytes > MAX_BUFFERED_BYTES) return this.close(`${this.framer.bufferedBytes} bytes buffered without a whole message`, false);
    while (!this.closed) {
      const r = this.framer.next();
      if (r.kind === 'need-more') break;
      if (r.kind === 'error') return this.close(r.err.message, false);
      this.onMessage(r.msg);
    }
  }

  private onHandshake(hs: { infoHash: Buffer; peerId: Buffer; reserved: Buffer }): void {
    if (!hs.infoHash.equals(this.options.infoHash)) return this.close('handshake for another torrent', false);
    if (hs.peerId.equals(this.options.peerId)) return this.close('connected to ourselves', false);
    if (!supportsExtensionProtocol(hs.reserved)) return this.close('peer does not speak the extension protocol', true);
    this.ready = true;
    const port = this.options.listenPort?.() ?? 0;
    const ours = encodeExtendedHandshake({
      // ut_pex is not offered yet: whether the torrent is private is unknown until the metadata.
      m: { ut_metadata: EXT_UT_METADATA },
      v: CLIENT_VERSION,
      p: port > 0 ? port : undefined,
    });
    this.write(encodeMessage({ type: 'extended', id: 0, payload: ours }));
  }

  private onMessage(msg: Message): void {
    if (msg.type !== 'extended') return; // bitfields, haves, chokes: nothing to do before metadata
    if (msg.id === 0) {
      const r = decodeExtendedHandshake(msg.payload);
      if (r.kind === 'error') return this.close(r.err.message, false);
      this.extendedSeen = true;
      const id = r.value.m.ut_metadata;
      // BEP 10: a later handshake may update ids; 0 turns the extension off.
      this.utMetadataId = id !== undefined && id > 0 ? id : undefined;
      this.hasUtMetadata = this.utMetadataId !== undefined;
      if (r.value.metadata_size !== undefined) this.offeredSize = r.value.metadata_size;
      this.hooks.onExtendedHandshake(this, this.hasUtMetadata ? this.offeredSize : undefined, r.value.p);
      return;
    }
    if (msg.id === EXT_UT_METADATA) this.hooks.onUtMetadata(this, msg.payload);
  }
}
