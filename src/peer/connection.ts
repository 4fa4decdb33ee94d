import { Socket } from 'node:net';
import createDebug from 'debug';
import {
  Bitfield,
  Framer,
  HANDSHAKE_LENGTH,
  decodeHandshake,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  type Message,
} from '../wire/index.js';
import { formatAddress, type PeerAddress } from './address.js';
import { PeerError } from './errors.js';
import type { ReadRelay } from './read-relay.js';
import { transportOf, type PeerStream, type Transport } from './stream.js';

const log = createDebug('pytor:peer');
/** What crossed the wire: handshakes and the messages that broke the rules. */
const wireLog = createDebug('pytor:wire');

export const BLOCK_LENGTH = 16 * 1024;
/** Bytes queued on a socket beyond which we stop putting uploads on it. */
const MAX_QUEUED_UPLOAD_BYTES = 4 * 1024 * 1024;
/** Bytes the framer may hold undecoded: one maximal message plus a socket read or two. */
const MAX_BUFFERED_BYTES = 1024 * 1024 + 256 * 1024;
/** BEP 6 allowed-fast pieces remembered from one peer (it suggests 10; more is only memory). */
export const MAX_ALLOWED_FAST = 64;
/** The fast extension's reserved bit (BEP 6): reserved[7] & 0x04. */
export function hasFastBit(reserved: Buffer): boolean {
  return reserved.length === 8 && (reserved[7]! & 0x04) !== 0;
}

export interface PeerTimeouts {
  readonly handshakeMs: number;
  /** Close when nothing at all has been heard for this long (BEP 3: peers keep-alive every 2 min). */
  readonly idleMs: number;
  /** Send a keep-alive when we have sent nothing for this long. */
  readonly keepAliveMs: number;
  /** A request unanswered for this long (since it was sent) marks the peer snubbed; all go back to the picker, cancelled. */
  readonly requestMs: number;
}

export const DEFAULT_TIMEOUTS: PeerTimeouts = {
  handshakeMs: 10_000,
  idleMs: 180_000,
  keepAliveMs: 60_000,
  requestMs: 20_000,
};

export interface Handshake {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly reserved: Buffer;
}

/** What a connection tells its owner. The session implements this. */
export interface PeerHandler {
  /** Both handshakes done; the connection may now send messages. */
  onReady(peer: PeerConnection): void;
  onMessage(peer: PeerConnection, msg: Message): void;
  /** A block we asked for arrived; `block` is only valid during the call. */
  onBlock(peer: PeerConnection, index: number, begin: number, block: Buffer): void;
  /** Requests that will never be answered (choke, snub, close): give them to another peer. */
  onRequestsDropped(peer: PeerConnection, requests: readonly BlockRequest[]): void;
  onClose(peer: PeerConnection, reason: PeerError): void;
}

export interface BlockRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

interface Outstanding extends BlockRequest {
  readonly sentAt: number;
}

export interface ConnectionOptions {
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  readonly pieceCount: number;
  readonly reserved: Buffer;
  readonly timeouts?: PeerTimeouts;
  readonly now?: () => number;
  /** For an incoming connection: the handshake the listener already read, and bytes after it. */
  readonly accepted?: { readonly handshake: Handshake; readonly rest: Buffer };
  /** For a socket dialled with a read relay (shared read buffer): reads come through it. */
  readonly relay?: ReadRelay;
  /** Bytes of the stream already read by someone else (an MSE handshake): taken first. */
  readonly pending?: Buffer;
  /** What the stream runs over, when the socket alone does not tell (an MSE stream over uTP). */
  readonly transport?: Transport;
}

/**
 * One peer over one TCP socket: the handshake, message framing, choke and interest
 * state, and the requests in flight. Decisions (what to request, whom to unchoke)
 * belong to the session; this class only carries them out and reports.
 */
export class PeerConnection {
  readonly label: string;
  /** TCP or uTP (BEP 11 tells other peers which, in PEX). */
  readonly transport: Transport;
  remote: Handshake | undefined;
  amChoking = true;
  /** Since when we have choked the peer (its connection time until we first unchoke it). */
  amChokingSince: number;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  /** Pieces the peer has. */
  has: Bitfield;
  /** Bytes of block payload received / sent. */
  downloaded = 0;
  uploaded = 0;
  /**
   * Smoothed rates in whole bytes per second, updated by tick(). Whole, because V8 keeps a field
   * that has only held small integers untagged: the first fractional value would change the
   * layout of every connection at once and throw away the optimized code of the whole receive
   * path (measured: 21 object layouts and 20 hot functions, one second into a download).
   */
  downloadRate = 0;
  uploadRate = 0;
  snubbed = false;
  /** Strikes for data that failed a hash check. */
  strikes = 0;
  /** Requests the peer will accept queued (BEP 10 `reqq`), when it said. */
  maxRequests: number | undefined;
  /** Free-form slot for the session (extension ids and such). */
  readonly ext: Record<string, unknown> = {};
  /** BEP 6: pieces the peer lets us request while it chokes us (its allowed_fast messages). */
  readonly allowedFastFromPeer = new Set<number>();
  /** BEP 6: pieces we serve this peer while we choke it (the set we sent it). */
  readonly allowedFastToPeer = new Set<number>();

  private readonly outstanding = new Map<number, Outstanding>();
  private readonly framer: Framer;
  private handshakeBuffer: Buffer | undefined = Buffer.alloc(0);
  private closed = false;
  private readonly now: () => number;
  private readonly timeouts: PeerTimeouts;
  private readonly createdAt: number;
  private lastHeardAt: number;
  private lastSentAt: number;
  /** Whether a have, bitfield, have-all or have-none arrived already. */
  private heardHaves = false;
  /**
   * While a bitfield, have-all or have-none that replaces an earlier view is being handled:
   * that earlier view (undefined for the first), so availability counts move by the difference.
   */
  replacedHas: Bitfield | undefined;
  private rateMark = { at: 0, down: 0, up: 0 };
  private pendingRequests: Buffer[] = [];

  constructor(
    readonly socket: PeerStream,
    readonly address: PeerAddress,
    private readonly options: ConnectionOptions,
    private readonly handler: PeerHandler,
  ) {
    this.label = formatAddress(address);
    this.transport = options.transport ?? transportOf(socket);
    this.now = options.now ?? Date.now;
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    this.createdAt = this.lastHeardAt = this.lastSentAt = this.now();
    this.amChokingSince = this.createdAt;
    this.rateMark.at = this.createdAt;
    this.has = new Bitfield(options.pieceCount);
    this.framer = new Framer({ pieceCount: options.pieceCount });
    socket.setNoDelay(true);
    if (!options.relay) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.close('EPEER_SOCKET', err.code ?? err.message));
    socket.on('close', () => this.close('EPEER_CLOSED', 'connection closed'));

    // BEP 10 is advertised: the session's extension layer answers it (session/extensions.ts).
    this.socket.write(
      encodeHandshake({ infoHash: options.infoHash, peerId: options.peerId, reserved: options.reserved, extensionProtocol: true }),
    );
    if (options.accepted) {
      this.handshakeBuffer = undefined;
      this.acceptHandshake(options.accepted.handshake);
      if (!this.closed && options.accepted.rest.length > 0) this.onData(options.accepted.rest);
    }
    if (options.pending && options.pending.length > 0 && !this.closed) this.onData(options.pending);
    options.relay?.attach(this);
    // A socket someone paused (an MSE handshake handing it over) reads again.
    socket.resume();
  }

  /** The peer dialled us (its port is then not its listen port). */
  get incoming(): boolean {
    return this.options.accepted !== undefined;
  }

  get isReady(): boolean {
    return this.remote !== undefined && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Both sides set the fast bit (BEP 6): have-all/none, reject, allowed-fast and suggest apply. */
  get fast(): boolean {
    return this.remote !== undefined && hasFastBit(this.options.reserved) && hasFastBit(this.remote.reserved);
  }

  get requestCount(): number {
    return this.outstanding.size;
  }

  /** Whether a block of ours is in flight to this peer. */
  isRequested(index: number, begin: number): boolean {
    return this.outstanding.has(blockKey(index, begin));
  }

  /** Queues a request; requests go out together at flush(), in one write. */
  request(index: number, begin: number, length: number): void {
    this.outstanding.set(blockKey(index, begin), { index, begin, length, sentAt: this.now() });
    this.pendingRequests.push(encodeMessage({ type: 'request', index, begin, length }));
  }

  cancel(index: number, begin: number, length: number): void {
    if (this.outstanding.delete(blockKey(index, begin))) this.send({ type: 'cancel', index, begin, length });
  }

  /** Writes queued requests. */
  flush(): void {
    if (this.pendingRequests.length === 0 || this.closed) return;
    const batch = this.pendingRequests.length === 1 ? this.pendingRequests[0]! : Buffer.concat(this.pendingRequests);
    this.pendingRequests = [];
    this.write(batch);
  }

  send(msg: Message): void {
    if (this.closed) return;
    switch (msg.type) {
      case 'choke':
        if (!this.amChoking) this.amChokingSince = this.now();
        this.amChoking = true;
        break;
      case 'unchoke':
        this.amChoking = false;
        break;
      case 'interested':
        this.amInterested = true;
        break;
      case 'not-interested':
        this.amInterested = false;
        break;
      default:
        break;
    }
    this.write(encodeMessage(msg));
  }

  /**
   * Sends a block without copying it into a message buffer. `done` is called once the stream
   * no longer needs `block` (the caller may then reuse its memory).
   */
  sendBlock(index: number, begin: number, block: Buffer, done?: () => void): void {
    if (this.closed) {
      done?.();
      return;
    }
    let data = block;
    let written: ((err?: Error | null) => void) | undefined;
    if (done && this.socket instanceof Socket) {
      // A TCP socket calls back once the kernel has the bytes (or the socket is gone).
      written = done;
    } else if (done) {
      // Other streams (uTP, MSE) may call back while still holding the buffer: they get a copy.
      data = Buffer.from(block);
      done();
    }
    this.socket.cork();
    this.socket.write(encodePieceHeader(index, begin, block.length));
    this.socket.write(data, written);
    process.nextTick(() => this.socket.uncork());
    this.lastSentAt = this.now();
    this.uploaded += block.length;
  }

  /** False while the socket already holds plenty of unsent upload data. */
  get canUpload(): boolean {
    return !this.closed && this.socket.writableLength < MAX_QUEUED_UPLOAD_BYTES;
  }

  /**
   * Called by the session about once a second: rates, keep-alives, and the timeouts
   * (handshake, idle, unanswered requests).
   */
  tick(): void {
    if (this.closed) return;
    const now = this.now();
    if (!this.remote) {
      if (now - this.createdAt > this.timeouts.handshakeMs) this.close('EPEER_HANDSHAKE', 'no handshake in time');
      return;
    }
    if (now - this.lastHeardAt > this.timeouts.idleMs) {
      this.close('EPEER_IDLE', `nothing heard for ${Math.round((now - this.lastHeardAt) / 1000)} s`);
      return;
    }
    if (now - this.lastSentAt > this.timeouts.keepAliveMs) this.send({ type: 'keep-alive' });

    const dt = (now - this.rateMark.at) / 1000;
    if (dt > 0) {
      // Weighted toward the last second, so a stalled peer's rate falls within a few ticks.
      const down = (this.downloaded - this.rateMark.down) / dt;
      const up = (this.uploaded - this.rateMark.up) / dt;
      this.downloadRate = Math.round(this.downloadRate * 0.5 + down * 0.5);
      this.uploadRate = Math.round(this.uploadRate * 0.5 + up * 0.5);
      this.rateMark = { at: now, down: this.downloaded, up: this.uploaded };
    }

    // Outstanding keeps insertion order, so the first entry is the oldest request.
    const oldest = this.outstanding.values().next().value as Outstanding | undefined;
    if (oldest && now - oldest.sentAt > this.timeouts.requestMs) {
      this.snubbed = true;
      log('%s snubbed us: %d requests unanswered', this.label, this.outstanding.size);
      // Cancel them, so a peer that is only slow does not spend its upload on blocks we re-ask elsewhere.
      for (const r of this.outstanding.values()) this.pendingRequests.push(encodeMessage({ type: 'cancel', index: r.index, begin: r.begin, length: r.length }));
      this.flush();
      this.dropRequests();
    }
  }

  /** Closes the connection (idempotent) and tells the handler once. */
  close(code: PeerError['code'], detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    const dropped = [...this.outstanding.values()];
    this.outstanding.clear();
    const reason = new PeerError(code, this.label, detail);
    log('%s closed: %s', this.label, detail);
    if (dropped.length > 0) this.handler.onRequestsDropped(this, dropped);
    this.handler.onClose(this, reason);
  }

  private write(buf: Buffer): void {
    this.socket.write(buf);
    this.lastSentAt = this.now();
  }

  private dropRequests(): void {
    if (this.outstanding.size === 0) return;
    const dropped = [...this.outstanding.values()];
    this.outstanding.clear();
    this.handler.onRequestsDropped(this, dropped);
  }

  /** A read from the shared buffer: processed now, the unprocessed tail copied out. */
  receiveBorrowed(chunk: Buffer): void {
    this.onData(chunk);
    if (!this.closed) this.framer.detach();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeardAt = this.now();
    if (this.handshakeBuffer !== undefined) {
      this.handshakeBuffer = Buffer.concat([this.handshakeBuffer, chunk]);
      if (this.handshakeBuffer.length < HANDSHAKE_LENGTH) return;
      const result = decodeHandshake(this.handshakeBuffer);
      if (result.kind !== 'handshake') {
        this.close('EPEER_HANDSHAKE', result.kind === 'error' ? result.err.message : 'short handshake');
        return;
      }
      const rest = this.handshakeBuffer.subarray(result.consumed);
      this.handshakeBuffer = undefined;
      this.acceptHandshake(result);
      if (this.closed || rest.length === 0) return;
      chunk = rest;
    }
    this.framer.push(chunk);
    if (this.framer.bufferedBytes > MAX_BUFFERED_BYTES) {
      this.close('EPEER_PROTOCOL', `${this.framer.bufferedBytes} bytes buffered without a whole message`);
      return;
    }
    while (!this.closed) {
      const result = this.framer.next();
      if (result.kind === 'need-more') break;
      if (result.kind === 'error') {
        wireLog('%s sent a bad message (%s): %s', this.label, result.err.code, result.err.message);
        this.close('EPEER_PROTOCOL', result.err.message);
        return;
      }
      this.dispatch(result.msg);
    }
    this.flush();
  }

  private acceptHandshake(hs: Handshake): void {
    if (!hs.infoHash.equals(this.options.infoHash)) {
      this.close('EPEER_INFOHASH', 'handshake for another torrent');
      return;
    }
    if (hs.peerId.equals(this.options.peerId)) {
      this.close('EPEER_SELF', 'connected to ourselves');
      return;
    }
    this.remote = { infoHash: Buffer.from(hs.infoHash), peerId: Buffer.from(hs.peerId), reserved: Buffer.from(hs.reserved) };
    wireLog('%s handshake: peer id %s, reserved %s', this.label, printablePeerId(hs.peerId), hs.reserved.toString('hex'));
    this.handler.onReady(this);
  }

  private dispatch(msg: Message): void {
    switch (msg.type) {
      case 'piece': {
        const key = blockKey(msg.index, msg.begin);
        const req = this.outstanding.get(key);
        // A block we did not ask for (or cancelled in endgame) is dropped, not trusted.
        if (!req || req.begin !== msg.begin || req.length !== msg.block.length) return;
        this.outstanding.delete(key);
        this.downloaded += msg.block.length;
        this.snubbed = false;
        this.handler.onBlock(this, msg.index, msg.begin, msg.block);
        return;
      }
      case 'choke':
        this.peerChoking = true;
        // Without the fast extension a choke discards every pending request (BEP 3); with it,
        // the peer rejects each one it will not serve (BEP 6), and a reject frees it at once.
        if (!this.fast) this.dropRequests();
        break;
      case 'allowed-fast':
        if (!this.fast) return;
        if (msg.index < this.options.pieceCount && this.allowedFastFromPeer.size < MAX_ALLOWED_FAST) {
          this.allowedFastFromPeer.add(msg.index);
        }
        break;
      case 'unchoke':
        this.peerChoking = false;
        break;
      case 'interested':
        this.peerInterested = true;
        break;
      case 'not-interested':
        this.peerInterested = false;
        break;
      case 'have':
        this.heardHaves = true;
        // A repeated have tells nothing new; dropping it keeps availability counts exact.
        if (this.has.get(msg.index)) return;
        this.has.set(msg.index);
        break;
      case 'bitfield':
      case 'have-all':
      case 'have-none': {
        // Meant as the first word on pieces (BEP 3, BEP 6), but some clients (aria2) send one
        // later: it replaces what we knew, and `replacedHas` lets the session count the change only.
        const before = this.has;
        let next: Bitfield;
        if (msg.type === 'bitfield') {
          try {
            next = Bitfield.fromBuffer(msg.bitfield, this.options.pieceCount);
          } catch (err) {
            this.close('EPEER_PROTOCOL', (err as Error).message);
            return;
          }
        } else {
          next = new Bitfield(this.options.pieceCount);
          if (msg.type === 'have-all') next.setAll();
        }
        this.has = next;
        this.replacedHas = this.heardHaves ? before : undefined;
        this.heardHaves = true;
        this.handler.onMessage(this, msg);
        this.replacedHas = undefined;
        return;
      }
      case 'reject': {
        const key = blockKey(msg.index, msg.begin);
        const req = this.outstanding.get(key);
        if (req) {
          this.outstanding.delete(key);
          this.handler.onRequestsDropped(this, [req]);
        }
        break;
      }
      default:
        break;
    }
    this.handler.onMessage(this, msg);
  }
}

/** Our own requests are block-aligned, so (index, begin / 16 KiB) names a block uniquely. */
function blockKey(index: number, begin: number): number {
  return index * 8192 + Math.floor(begin / BLOCK_LENGTH);
}

/** `-lt2080-` style client prefixes are ASCII; the rest of a peer id is arbitrary bytes. */
function printablePeerId(id: Buffer): string {
  return [...id].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}
