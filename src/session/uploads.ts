/**
 * Serving blocks to peers: the per-peer request queues, one read at a time per peer while its
 * socket has room, and the choker rounds that decide who may ask.
 */
import type { PeerStream } from '../peer/stream.js';
import { pieceSize, type Torrent } from '../metainfo/index.js';
import { BLOCK_LENGTH, type PeerConnection } from '../peer/connection.js';
import type { TokenBucket } from './bandwidth.js';
import type { BlockLease } from './read-cache.js';
import { OUR_REQQ } from './extensions.js';
import { chooseUnchoked, CHOKE_ROUND_MS, DEFAULT_UPLOAD_SLOTS, OPTIMISTIC_ROUND_MS } from './choker.js';

/** Requests a peer may queue with us (what we advertise as reqq); beyond this they are rejected. */
const MAX_UPLOAD_QUEUE = OUR_REQQ;

export interface UploadRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

export interface UploaderHost {
  readonly torrent: Torrent;
  /** Whether we hold (verified, written) piece `index`. */
  has(index: number): boolean;
  /** The block as a lease (see read-cache.ts): released once the socket is done with it. */
  readBlock(index: number, begin: number, length: number): Promise<BlockLease>;
  /** Whether we only upload now (rates for the choker are upload rates then). */
  seeding(): boolean;
  warn(message: string): void;
  random: () => number;
  /** The client's upload limit, shared by every peer (absent or rate 0: none). */
  readonly bucket?: TokenBucket;
  /** Peers unchoked for their rate, besides the optimistic one (default DEFAULT_UPLOAD_SLOTS). */
  readonly uploadSlots?: number;
}

export class Uploader {
  private readonly queues = new Map<PeerConnection, UploadRequest[]>();
  private readonly pumping = new Set<PeerConnection>();
  private lastChokeAt = 0;
  private lastOptimisticAt = 0;
  private optimistic: string | undefined;
  /** Payload bytes sent. */
  uploaded = 0;

  private readonly slots: number;

  constructor(private readonly host: UploaderHost) {
    this.slots = host.uploadSlots ?? DEFAULT_UPLOAD_SLOTS;
  }

  /** A peer asked for a block; false when the request breaks the rules (the peer should go). */
  request(peer: PeerConnection, req: UploadRequest): boolean {
    const { index, begin, length } = req;
    const t = this.host.torrent;
    if (index >= t.pieces.length || length === 0 || length > BLOCK_LENGTH || begin + length > pieceSize(t, index)) return false;
    // BEP 3: requests made while choked are dropped; so are those for pieces we lack. BEP 6:
    // served while choked when the piece is in the peer's allowed-fast set, and every request
    // we will not serve is rejected, so the peer can ask elsewhere at once.
    const allowed = !peer.amChoking || peer.allowedFastToPeer.has(index);
    let queue = this.queues.get(peer);
    if (!allowed || !this.host.has(index) || (queue?.length ?? 0) >= MAX_UPLOAD_QUEUE) {
      reject(peer, req);
      return true;
    }
    if (!queue) this.queues.set(peer, (queue = []));
    queue.push(req);
    void this.pump(peer);
    return true;
  }

  cancel(peer: PeerConnection, req: UploadRequest): void {
    const queue = this.queues.get(peer);
    if (!queue) return;
    const i = queue.findIndex((r) => r.index === req.index && r.begin === req.begin && r.length === req.length);
    if (i >= 0) queue.splice(i, 1);
  }

  forget(peer: PeerConnection): void {
    this.queues.delete(peer);
  }

  unchokedCount(peers: Iterable<PeerConnection>): number {
    let n = 0;
    for (const p of peers) if (!p.amChoking) n++;
    return n;
  }

  /** A peer just became ready: a free slot goes to it at once rather than a round later. */
  welcome(peer: PeerConnection, peers: Iterable<PeerConnection>): void {
    if (this.unchokedCount(peers) < this.slots) peer.send({ type: 'unchoke' });
  }

  /** Called every tick: a choke round when one is due. */
  tick(now: number, ready: readonly PeerConnection[]): void {
    if (now - this.lastChokeAt < CHOKE_ROUND_MS) return;
    this.lastChokeAt = now;
    const rotate = now - this.lastOptimisticAt >= OPTIMISTIC_ROUND_MS;
    if (rotate) this.lastOptimisticAt = now;
    const seeding = this.host.seeding();
    const { unchoked, optimistic } = chooseUnchoked(
      ready.map((p) => ({
        id: p.label,
        interested: p.peerInterested,
        rate: seeding ? p.uploadRate : p.downloadRate,
        chokedSince: p.amChoking ? p.amChokingSince : undefined,
      })),
      this.slots,
      this.optimistic,
      rotate,
      this.host.random,
    );
    this.optimistic = optimistic;
    for (const p of ready) {
      if (unchoked.has(p.label) && p.amChoking) p.send({ type: 'unchoke' });
      else if (!unchoked.has(p.label) && !p.amChoking && p.peerInterested) {
        p.send({ type: 'choke' });
        this.choked(p);
      }
    }
  }

  /**
   * We just choked `peer`: its queued requests are dropped, except for allowed-fast pieces;
   * with BEP 6 each dropped one is rejected.
   */
  choked(peer: PeerConnection): void {
    const queue = this.queues.get(peer);
    if (!queue) return;
    const keep = queue.filter((r) => peer.allowedFastToPeer.has(r.index));
    for (const r of queue) if (!peer.allowedFastToPeer.has(r.index)) reject(peer, r);
    if (keep.length > 0) this.queues.set(peer, keep);
    else this.queues.delete(peer);
  }

  /** Sends queued blocks to one peer, one read at a time, while its socket has room. */
  private async pump(peer: PeerConnection): Promise<void> {
    if (this.pumping.has(peer)) return;
    this.pumping.add(peer);
    const bucket = this.host.bucket;
    try {
      while (!peer.isClosed) {
        const next = this.queues.get(peer)?.shift();
        if (!next) break;
        const allowed = () => !peer.amChoking || peer.allowedFastToPeer.has(next.index);
        if (!allowed()) {
          reject(peer, next);
          continue;
        }
        if (!peer.canUpload) {
          await waitDrain(peer.socket);
          if (peer.isClosed) break;
          // Choked while we waited for room: no tokens or disk read for a block it will not get.
          if (!allowed()) {
            reject(peer, next);
            continue;
          }
        }
        if (bucket && !bucket.unlimited) {
          const granted = await bucket.waitFor(next.length).then(
            () => true,
            () => false, // the client is closing
          );
          if (!granted) break;
        }
        let block: BlockLease;
        try {
          block = await this.host.readBlock(next.index, next.begin, next.length);
        } catch (err) {
          // Every request gets one answer: one we cannot read is rejected (BEP 6) like any we
          // will not serve, and the queue behind it still gets its turn.
          this.host.warn(`upload to ${peer.label} failed: ${(err as Error).message}`);
          if (peer.isClosed) break;
          reject(peer, next);
          continue;
        }
        if (peer.isClosed) {
          block.release();
          break;
        }
        if (!allowed()) {
          block.release();
          reject(peer, next);
          continue;
        }
        peer.sendBlock(next.index, next.begin, block.data, block.release);
        this.uploaded += block.data.length;
      }
    } catch (err) {
      this.host.warn(`upload to ${peer.label} failed: ${(err as Error).message}`);
    } finally {
      this.pumping.delete(peer);
    }
  }
}

/** BEP 6 reject_request; without the fast extension a request we will not serve is only dropped. */
function reject(peer: PeerConnection, req: UploadRequest): void {
  if (peer.fast) peer.send({ type: 'reject', index: req.index, begin: req.begin, length: req.length });
}

function waitDrain(socket: PeerStream): Promise<void> {
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
