/**
 * BEP 10 on a download/seed session: our extended handshake, the peer's (its `m` ids and
 * `reqq`), and the extended messages we speak there: ut_metadata (BEP 9, serving the info
 * dict) and ut_pex (BEP 11, never for private torrents, BEP 27). The session calls the four
 * hooks; all the state lives here, keyed by connection.
 */
import createDebug from 'debug';
import type { Torrent } from '../metainfo/index.js';
import {
  decodeExtendedHandshake,
  decodeUtMetadata,
  decodeUtPex,
  encodeExtendedHandshake,
  encodeUtMetadata,
  encodeUtPex,
  MAX_METADATA_SIZE,
  METADATA_PIECE_LENGTH,
  metadataPieceCount,
  parseIPv4,
  parseIPv6,
  supportsExtensionProtocol,
  type PexPeer,
} from '../wire/index.js';
import { formatAddress } from '../peer/address.js';
import type { PeerConnection } from '../peer/connection.js';
import { PexInbox, PexOutbox, pexFlagsFor } from './pex.js';

const log = createDebug('pytor:ext');
const logPex = createDebug('pytor:pex');

export const CLIENT_VERSION = 'pytor 0.1.0';
/** The ids we ask peers to use when sending these extensions to us. */
export const EXT_UT_METADATA = 1;
export const EXT_UT_PEX = 2;
/**
 * Requests we let a peer queue (uploads.ts rejects beyond it). 1000, not 250: a libtorrent
 * leecher keeps as many in flight as we allow, and with 250 (4 MiB) the pipe ran dry while it
 * was busy; 1000 served it 405 -> 470 MB/s (bench up, A/B). Queued requests are small records.
 */
export const OUR_REQQ = 1000;
/** ut_metadata requests served per connection: the whole dict a few times over, not a pump. */
const MAX_METADATA_SERVES_EXTRA = 16;

export interface ExtensionHost {
  readonly torrent: Torrent;
  /** Our listen port, 0 when not listening. */
  listenPort(): number;
  /** Connections that finished the handshake. */
  readyPeers(): Iterable<PeerConnection>;
  /** Addresses learned through PEX, with the flags the sender gave each (BEP 11 `added.f`). */
  addPeers(peers: readonly PexPeer[]): void;
  /** Whether the peer is known to speak uTP beyond the connection's own transport (optional). */
  knowsUtp?(peer: PeerConnection): boolean;
  /**
   * We accept only encrypted connections: our handshake says `e: 1`, so peers that pass us on
   * through PEX tell others to dial us encrypted. Not under 'prefer', which takes plaintext as
   * gladly: `e: 1` would only move peers to RC4, which costs CPU on both sides.
   */
  readonly encryptionRequired?: boolean;
  now(): number;
}

interface PeerExtensions {
  /** The peer's ids, from its extended handshake (0 or absent = not spoken). */
  utMetadata: number;
  utPex: number;
  /** The port the peer listens on, when it said (`p`). */
  listenPort: number | undefined;
  /** It said `e: 1` (prefers encryption). */
  prefersEncryption: boolean;
  metadataServed: number;
  outbox: PexOutbox;
}

export class SessionExtensions {
  private readonly peers = new WeakMap<PeerConnection, PeerExtensions>();
  private readonly inbox = new PexInbox();
  private readonly pexEnabled: boolean;
  private readonly metadataSize: number | undefined;

  constructor(private readonly host: ExtensionHost) {
    this.pexEnabled = !host.torrent.private;
    const size = host.torrent.infoBytes.length;
    this.metadataSize = size > 0 && size <= MAX_METADATA_SIZE ? size : undefined;
  }

  /** Both handshakes done: when the peer set the BEP 10 bit, send ours. */
  onReady(peer: PeerConnection): void {
    if (!peer.remote || !supportsExtensionProtocol(peer.remote.reserved)) return;
    this.peers.set(peer, { utMetadata: 0, utPex: 0, listenPort: undefined, prefersEncryption: false, metadataServed: 0, outbox: new PexOutbox() });
    const m: Record<string, number> = { ut_metadata: EXT_UT_METADATA };
    if (this.pexEnabled) m.ut_pex = EXT_UT_PEX;
    const port = this.host.listenPort();
    const handshake = encodeExtendedHandshake({
      m,
      v: CLIENT_VERSION,
      reqq: OUR_REQQ,
      metadata_size: this.metadataSize,
      p: port > 0 ? port : undefined,
      yourip: ipBytes(peer.address.host),
      e: this.host.encryptionRequired ? 1 : undefined,
    });
    peer.send({ type: 'extended', id: 0, payload: handshake });
  }

  /** An `extended` message; `id` is one of ours (or 0, the handshake). */
  onExtended(peer: PeerConnection, id: number, payload: Buffer): void {
    const state = this.peers.get(peer);
    if (!state) {
      // It never set the BEP 10 bit, so it has no business sending these.
      peer.close('EPEER_PROTOCOL', 'extended message without the extension bit');
      return;
    }
    if (id === 0) return this.onHandshake(peer, state, payload);
    if (id === EXT_UT_METADATA) return this.onUtMetadata(peer, state, payload);
    if (id === EXT_UT_PEX && this.pexEnabled) return this.onPex(peer, payload);
    // An id we never gave out: ignored, as BEP 10 readers do.
  }

  onClosed(peer: PeerConnection): void {
    this.peers.delete(peer);
    this.inbox.forget(peer.address);
  }

  /** About once a second: PEX messages that are due. */
  tick(): void {
    if (!this.pexEnabled) return;
    const now = this.host.now();
    let current: Map<string, { peer: PeerConnection; entry: PexPeer }> | undefined;
    for (const peer of this.host.readyPeers()) {
      const state = this.peers.get(peer);
      if (!state || state.utPex === 0) continue;
      current ??= this.dialable();
      const others = new Map<string, PexPeer>();
      for (const [label, { peer: other, entry }] of current) if (other !== peer) others.set(label, entry);
      const msg = state.outbox.next(others, now);
      if (!msg) continue;
      logPex('to %s: +%d -%d', peer.label, msg.added.length, msg.dropped.length);
      peer.send({ type: 'extended', id: state.utPex, payload: encodeUtPex(msg) });
    }
  }

  /** Our connected peers with addresses others can dial. */
  private dialable(): Map<string, { peer: PeerConnection; entry: PexPeer }> {
    const out = new Map<string, { peer: PeerConnection; entry: PexPeer }>();
    for (const peer of this.host.readyPeers()) {
      // We dialled it: its address is its listen address. It dialled us: only the `p` it told us.
      const port = peer.incoming ? this.peers.get(peer)?.listenPort : peer.address.port;
      if (port === undefined || ipBytes(peer.address.host) === undefined) continue;
      const address = { host: peer.address.host, port };
      const flags = pexFlagsFor({
        utp: peer.transport === 'utp' || (this.host.knowsUtp?.(peer) ?? false),
        seed: peer.has.pieceCount > 0 && peer.has.count === peer.has.pieceCount,
        dialled: !peer.incoming,
        prefersEncryption: this.peers.get(peer)?.prefersEncryption ?? false,
      });
      out.set(formatAddress(address), { peer, entry: { ...address, flags } });
    }
    return out;
  }

  private onHandshake(peer: PeerConnection, state: PeerExtensions, payload: Buffer): void {
    const r = decodeExtendedHandshake(payload);
    if (r.kind === 'error') {
      peer.close('EPEER_PROTOCOL', r.err.message);
      return;
    }
    const h = r.value;
    // BEP 10: a later handshake updates only what it names; 0 disables an extension.
    if (h.m.ut_metadata !== undefined) state.utMetadata = h.m.ut_metadata;
    if (h.m.ut_pex !== undefined) state.utPex = h.m.ut_pex;
    if (h.p !== undefined) state.listenPort = h.p;
    if (h.e !== undefined) state.prefersEncryption = h.e === 1;
    if (h.reqq !== undefined) peer.maxRequests = h.reqq;
    if (h.v !== undefined) peer.ext.clientVersion = h.v;
    log('%s: %s, ut_metadata %d, ut_pex %d, reqq %s', peer.label, h.v ?? '?', state.utMetadata, state.utPex, h.reqq ?? '-');
  }

  private onUtMetadata(peer: PeerConnection, state: PeerExtensions, payload: Buffer): void {
    const r = decodeUtMetadata(payload);
    if (r.kind === 'error') {
      peer.close('EPEER_PROTOCOL', r.err.message);
      return;
    }
    const msg = r.value;
    // We have the metadata; data and reject messages are answers to nothing we asked.
    if (msg.type !== 'request' || state.utMetadata === 0) return;
    const size = this.metadataSize;
    const budget = size === undefined ? 0 : metadataPieceCount(size) * 2 + MAX_METADATA_SERVES_EXTRA;
    if (size === undefined || msg.piece >= metadataPieceCount(size) || state.metadataServed >= budget) {
      peer.send({ type: 'extended', id: state.utMetadata, payload: encodeUtMetadata({ type: 'reject', piece: msg.piece }) });
      return;
    }
    state.metadataServed++;
    const start = msg.piece * METADATA_PIECE_LENGTH;
    const data = this.host.torrent.infoBytes.subarray(start, Math.min(size, start + METADATA_PIECE_LENGTH));
    peer.send({ type: 'extended', id: state.utMetadata, payload: encodeUtMetadata({ type: 'data', piece: msg.piece, totalSize: size, data }) });
  }

  private onPex(peer: PeerConnection, payload: Buffer): void {
    const r = decodeUtPex(payload);
    if (r.kind === 'error') {
      // A bad PEX message costs the peer nothing but being ignored: the transfer is worth more.
      log('%s: bad ut_pex: %s', peer.label, r.err.message);
      return;
    }
    const accepted = this.inbox.accept(peer.address, r.value.added, this.host.now());
    logPex('from %s: +%d -%d, %d accepted', peer.label, r.value.added.length, r.value.dropped.length, accepted.length);
    for (const a of accepted) logPex('learned %s from %s, flags 0x%s', formatAddress(a), peer.label, a.flags.toString(16).padStart(2, '0'));
    if (accepted.length > 0) this.host.addPeers(accepted);
  }
}

/** 4 or 16 bytes of an IP literal; undefined for anything else. */
function ipBytes(host: string): Buffer | undefined {
  return parseIPv4(host) ?? parseIPv6(host) ?? undefined;
}
