/**
 * Fetching pieces: how many requests each peer gets, what to ask for (the picker decides),
 * blocks arriving, hashing a complete piece and writing it, and who gets blamed for bad data.
 */
import { createHash } from 'node:crypto';
import type { Torrent } from '../metainfo/index.js';
import { BLOCK_LENGTH, type BlockRequest, type PeerConnection } from '../peer/connection.js';
import type { TokenBucket } from './bandwidth.js';
import type { PiecePicker, PickerPeer } from './picker.js';

export interface DownloaderHost {
  readonly torrent: Torrent;
  readonly picker: PiecePicker;
  /** Whether blocks are wanted now (the session is downloading). */
  downloading(): boolean;
  peers(): Iterable<PeerConnection>;
  writePiece(index: number, data: Buffer): Promise<void>;
  /** A piece is verified and on disk. */
  pieceWritten(index: number): void;
  pieceFailed(index: number, contributors: ReadonlySet<string>): void;
  writeFailed(index: number, err: Error): void;
  /** Every write settled and, when all are done, the picker may be complete. */
  writesSettled(): void;
  /** The client's download limit, shared by every peer and web seed (absent or rate 0: none). */
  readonly bucket?: TokenBucket;
}

/** Per-peer state of the limited request loop (kept in peer.ext). */
const LIMITED = 'limitedFill';

export class Downloader {
  /** Payload bytes received (including blocks of pieces that later failed). */
  downloaded = 0;
  hashFailures = 0;
  private pendingWriteBytes = 0;
  readonly pendingWrites = new Set<Promise<void>>();

  constructor(
    private readonly host: DownloaderHost,
    /** Bytes of verified pieces waiting for the disk before we stop asking for more. */
    private readonly maxPendingWriteBytes: number,
  ) {}

  /** How many requests to keep in flight to a peer: about a second of its rate, bounded. */
  pipelineDepth(peer: PeerConnection): number {
    // A snubbed peer gets one request at a time until a block shows it is alive again.
    if (peer.snubbed) return 1;
    const byRate = Math.ceil(peer.downloadRate / BLOCK_LENGTH);
    // Past ~500 blocks (8 MiB) in flight nothing is gained on loopback, only memory (measured).
    // The peer's own `reqq` is a hard limit, even below our floor of 32: more would be dropped.
    const cap = Math.min(peer.maxRequests ?? 500, 500);
    return Math.max(1, Math.min(cap, Math.max(32, byRate)));
  }

  fill(peer: PeerConnection): void {
    if (!this.canAsk(peer)) return;
    const bucket = this.host.bucket;
    if (bucket && !bucket.unlimited) {
      void this.fillLimited(peer, bucket);
      return;
    }
    const depth = this.pipelineDepth(peer);
    const want = depth - peer.requestCount;
    // Top up in batches: one write of many requests beats many writes of one.
    if (want <= 0 || want < Math.min(16, depth / 4)) return;
    const picked = this.host.picker.pick(this.viewOf(peer), want);
    for (const r of picked) peer.request(r.index, r.begin, r.length);
    peer.flush();
  }

  /**
   * Whether we may ask this peer for blocks now: unchoked, or choked but with pieces it
   * allows us while choked (BEP 6 allowed-fast) that it has.
   */
  private canAsk(peer: PeerConnection): boolean {
    if (!this.host.downloading() || !peer.amInterested || !peer.isReady) return false;
    if (this.pendingWriteBytes >= this.maxPendingWriteBytes) return false;
    return !peer.peerChoking || peer.allowedFastFromPeer.size > 0;
  }

  /** While choked, only the peer's allowed-fast pieces may be asked for. */
  private viewOf(peer: PeerConnection): PickerPeer {
    if (!peer.peerChoking) return pickerView(peer);
    const allowed = peer.allowedFastFromPeer;
    return { has: (i) => allowed.has(i) && peer.has.get(i), isRequested: (i, b) => peer.isRequested(i, b) };
  }

  /**
   * Under a download limit: one block at a time, each issued only once the bucket grants its
   * bytes (what arrives is what was asked for, so the request rate is the receive rate). One
   * loop per peer; the bucket serves waiting peers in turn, so none starves the others.
   */
  private async fillLimited(peer: PeerConnection, bucket: TokenBucket): Promise<void> {
    if (peer.ext[LIMITED]) return;
    peer.ext[LIMITED] = true;
    try {
      while (this.canAsk(peer) && peer.requestCount < this.pipelineDepth(peer)) {
        try {
          await bucket.waitFor(BLOCK_LENGTH);
        } catch {
          return; // the client is closing
        }
        if (!this.canAsk(peer)) return;
        const [r] = this.host.picker.pick(this.viewOf(peer), 1);
        if (!r) return;
        peer.request(r.index, r.begin, r.length);
        peer.flush();
      }
    } finally {
      peer.ext[LIMITED] = false;
    }
  }

  /**
   * A whole piece that arrived already verified (from a web seed): written like any other,
   * counted as downloaded.
   */
  verifiedPiece(index: number, buffer: Buffer): void {
    this.downloaded += buffer.length;
    const picker = this.host.picker;
    if (picker.webSeedDelivered(index)) {
      // Peers were fetching it too (endgame): their requests are moot now.
      const size = picker.pieceSize(index);
      for (let begin = 0; begin < size; begin += BLOCK_LENGTH) this.cancelBlock(index, begin, Math.min(BLOCK_LENGTH, size - begin));
    }
    this.writeVerified(index, buffer);
  }

  /** Whether verified pieces waiting for the disk have reached their bound. */
  get writesFull(): boolean {
    return this.pendingWriteBytes >= this.maxPendingWriteBytes;
  }

  fillAll(): void {
    for (const peer of this.host.peers()) this.fill(peer);
  }

  requestsDropped(requests: readonly BlockRequest[]): void {
    for (const r of requests) this.host.picker.requestDropped(r.index, r.begin);
    if (this.host.downloading()) queueMicrotask(() => this.fillAll());
  }

  block(peer: PeerConnection, index: number, begin: number, block: Buffer): void {
    this.downloaded += block.length;
    const picker = this.host.picker;
    const outcome = picker.blockReceived(index, begin, block, peer.label);
    // Someone else may still be fetching this block: tell them not to bother.
    if (picker.inEndgame() || outcome.kind === 'complete') this.cancelBlock(index, begin, block.length, peer);
    if (outcome.kind === 'complete') this.pieceComplete(outcome.piece.index, outcome.piece.buffer, outcome.piece.contributors);
    this.fill(peer);
  }

  /** Cancels the block's request with every peer that has one in flight (but `except`). */
  private cancelBlock(index: number, begin: number, length: number, except?: PeerConnection): void {
    for (const peer of this.host.peers()) {
      if (peer !== except && peer.isRequested(index, begin)) peer.cancel(index, begin, length);
    }
  }

  /** Whether a peer has something we still want (so we should be interested). */
  wants(peer: PeerConnection): boolean {
    return this.host.picker.wants(pickerView(peer));
  }

  private pieceComplete(index: number, buffer: Buffer, contributors: ReadonlySet<string>): void {
    const picker = this.host.picker;
    const ok = createHash('sha1').update(buffer).digest().equals(this.host.torrent.pieces[index]!);
    if (!ok) {
      this.hashFailures++;
      picker.markFailed(index);
      picker.release(buffer);
      this.host.pieceFailed(index, contributors);
      return;
    }
    this.writeVerified(index, buffer);
  }

  private writeVerified(index: number, buffer: Buffer): void {
    const picker = this.host.picker;
    this.pendingWriteBytes += buffer.length;
    const write = this.host
      .writePiece(index, buffer)
      .then(
        () => {
          picker.markHave(index);
          picker.release(buffer);
          this.host.pieceWritten(index);
        },
        (err: Error) => {
          picker.markFailed(index);
          this.host.writeFailed(index, err);
        },
      )
      .finally(() => {
        this.pendingWriteBytes -= buffer.length;
        this.pendingWrites.delete(write);
        this.host.writesSettled();
      });
    this.pendingWrites.add(write);
  }

  /** Resolves once every write started so far has settled (a stop keeps every verified piece). */
  async drain(): Promise<void> {
    while (this.pendingWrites.size > 0) await Promise.allSettled([...this.pendingWrites]);
  }
}

function pickerView(peer: PeerConnection): PickerPeer {
  return {
    has: (i) => peer.has.get(i),
    isRequested: (i, b) => peer.isRequested(i, b),
  };
}
