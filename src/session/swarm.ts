/**
 * The peer set of one torrent: which addresses we know (the peer book), dialling them as
 * slots allow, attaching incoming and outgoing sockets as connections, and what happens to an
 * address when its connection closes. Decisions about data belong to the session.
 */
import createDebug from 'debug';
import type { Torrent } from '../metainfo/index.js';
import { formatAddress, type PeerAddress } from '../peer/address.js';
import { PeerConnection, type Handshake, type PeerHandler } from '../peer/connection.js';
import { dialPeer, type UtpConnector } from '../peer/dial.js';
import type { EncryptionPolicy } from '../mse/index.js';
import type { PeerError } from '../peer/errors.js';
import { ReadRelay } from '../peer/read-relay.js';
import type { PeerStream, Transport } from '../peer/stream.js';
import { dialChoice, PeerBook, type PeerHint, type PeerRecord } from './peer-book.js';

const log = createDebug('pytor:session');
/** Which transport each dial chose, and why (BEP 11 flags, earlier connections, failures). */
const logDial = createDebug('pytor:swarm');

const CONNECT_TIMEOUT_MS = 5_000;
const MAX_DIALS_AT_ONCE = 16;
/** A failed peer is retried after this, doubling per failure, and forgotten after a few. */
export const RETRY_BASE_MS = 5_000;
const MAX_CONNECT_FAILURES = 5;
/** Addresses remembered at once (to try, connected, or banned). */
export const MAX_KNOWN_PEERS = 2_000;

export interface SwarmOptions {
  readonly torrent: Torrent;
  readonly peerId: Buffer;
  readonly reserved: Buffer;
  readonly maxPeers: number;
  /** The client's global limit, shared with other torrents. */
  readonly slots?: { free(): number };
  readonly now: () => number;
  /** Whether connections are wanted now (the session is transferring). */
  readonly active: () => boolean;
  /** Protocol encryption for outgoing connections (default 'prefer'). */
  readonly encryption?: EncryptionPolicy;
  /** Outgoing uTP: first for peers known to speak it, else when TCP cannot reach a peer. */
  readonly utp?: UtpConnector;
}

export class PeerSwarm {
  readonly peers = new Map<string, PeerConnection>();
  readonly book: PeerBook;

  constructor(
    private readonly options: SwarmOptions,
    private readonly handler: PeerHandler,
  ) {
    this.book = new PeerBook({
      maxKnown: MAX_KNOWN_PEERS,
      retryBaseMs: RETRY_BASE_MS,
      maxFailures: MAX_CONNECT_FAILURES,
      giveUp: 'forget',
      now: options.now,
    });
  }

  get readyCount(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.isReady) n++;
    return n;
  }

  *ready(): IterableIterator<PeerConnection> {
    for (const p of this.peers.values()) if (p.isReady) yield p;
  }

  /** Addresses to dial, with BEP 11 flags when they came by PEX. */
  add(peers: readonly PeerHint[]): void {
    for (const peer of peers) this.book.add(peer);
    if (this.options.active()) this.connectMore();
  }

  /** An incoming connection whose handshake the listener read and routed here. */
  accept(socket: PeerStream, address: PeerAddress, handshake: Handshake, rest: Buffer, transport: Transport = 'tcp'): void {
    const banned = this.book.isBanned(formatAddress(address));
    if (!this.options.active() || this.peers.size >= this.options.maxPeers || banned || (this.options.slots && this.options.slots.free() <= 0)) {
      socket.destroy();
      return;
    }
    this.attach(socket, address, transport, { handshake, rest });
  }

  connectMore(): void {
    const dialing = this.book.dialingCount;
    let budget = Math.min(this.options.maxPeers - this.peers.size - dialing, MAX_DIALS_AT_ONCE - dialing);
    if (this.options.slots) budget = Math.min(budget, this.options.slots.free());
    if (budget <= 0) return;
    for (const record of this.book.takeDue(budget, (label) => this.peers.has(label))) this.dial(record);
  }

  closeAll(why: string): void {
    for (const peer of [...this.peers.values()]) peer.close('EPEER_LOCAL', why);
  }

  /** Bans the address: it is dropped now and never dialled or accepted again. */
  ban(peer: PeerConnection, why: string): void {
    this.book.ban(peer.label, peer.address);
    peer.close('EPEER_BANNED', why);
  }

  /**
   * A connection closed: free its slot, and decide when (if ever) to dial the address again.
   * `useless` means it closed because neither side could give the other anything (both seeds).
   */
  closed(peer: PeerConnection, reason: PeerError, useless: boolean): void {
    if (this.peers.get(peer.label) === peer) this.peers.delete(peer.label);
    const record = this.book.get(peer.label);
    if (!record) return;
    record.connected = false;
    if (!record.dialable) {
      // It reached us from a port it does not listen on: nothing to dial, nothing to keep.
      if (!record.banned) this.book.forget(peer.label);
      return;
    }
    if (reason.code === 'EPEER_SELF' || reason.code === 'EPEER_INFOHASH') this.book.forget(peer.label);
    // isReady is already false here (the peer is closed): `remote` tells whether the handshake ever completed.
    else if (peer.remote === undefined && reason.code !== 'EPEER_LOCAL') this.failed(record, reason.message);
    // Two seeds: not worth a dial again while we stay complete.
    else this.book.retryAfter(record, useless ? Number.POSITIVE_INFINITY : RETRY_BASE_MS);
  }

  private dial(record: PeerRecord): void {
    const encryption = this.options.encryption ?? 'prefer';
    const choice = dialChoice(record, this.options.utp !== undefined);
    logDial('dial %s over %s first: %s', record.label, choice.first === 'utp' ? 'uTP' : 'TCP', choice.why);
    dialPeer(record.address, { timeoutMs: CONNECT_TIMEOUT_MS, encryption, infoHash: this.options.torrent.infoHash, relay: new ReadRelay(), detachPlain: true, utp: this.options.utp, first: choice.first }).then(
      ({ stream, relay, pending, transport }) => {
        this.book.dialEnded(record);
        if (!this.options.active()) {
          stream.destroy();
          return;
        }
        logDial('connected to %s over %s', record.label, transport === 'utp' ? 'uTP' : 'TCP');
        this.attach(stream, record.address, transport, undefined, relay, pending);
      },
      (err: PeerError) => {
        this.book.dialEnded(record);
        this.failed(record, err.message);
      },
    );
  }

  private failed(record: PeerRecord, why: string): void {
    this.book.failed(record);
    log('connect %s failed (%d): %s', record.label, record.failures, why);
  }

  private attach(
    socket: PeerStream,
    address: PeerAddress,
    transport: Transport,
    accepted: { handshake: Handshake; rest: Buffer } | undefined,
    relay?: ReadRelay,
    pending?: Buffer,
  ): void {
    const label = formatAddress(address);
    if (this.peers.has(label)) {
      socket.destroy();
      return;
    }
    const record = accepted ? this.book.incoming(address) : this.book.get(label);
    if (record) {
      record.connected = true;
      this.book.connectedOver(record, transport);
    }
    const { torrent, peerId, reserved, now } = this.options;
    const peer = new PeerConnection(
      socket,
      address,
      { infoHash: torrent.infoHash, peerId, pieceCount: torrent.pieces.length, reserved, now, accepted, relay, pending, transport },
      this.handler,
    );
    if (!peer.isClosed) this.peers.set(label, peer);
  }
}
