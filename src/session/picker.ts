/**
 * Which blocks to ask which peer for: rarest first (random among equals, a few random
 * pieces first), partly downloaded pieces finished first, and endgame when every
 * missing block is already in flight. Web seeds take whole pieces (claimPiece); once nothing
 * is missing, peers and web seeds may work on the same piece and the first to finish it wins.
 * Pure bookkeeping: no sockets, no timers.
 */

export const BLOCK_LENGTH = 16 * 1024;
/** Pieces picked at random before rarest-first starts, so we soon have something to trade. */
const RANDOM_FIRST_PIECES = 4;
/** In endgame a block is asked of at most this many peers at once. */
const ENDGAME_MAX_DUPLICATES = 2;

export interface PieceGeometry {
  readonly pieceCount: number;
  readonly pieceLength: number;
  /** Total bytes. */
  readonly length: number;
}

/** What the picker needs to know of a peer. */
export interface PickerPeer {
  /** Whether the peer has piece `index`. */
  has(index: number): boolean;
  /** Whether this peer already has a request in flight for that block. */
  isRequested(index: number, begin: number): boolean;
}

export interface BlockRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** A piece being downloaded: its bytes gather here until the hash check. */
export class PartialPiece {
  readonly blockCount: number;
  /** Requests in flight per block. */
  readonly requested: Uint8Array;
  readonly received: Uint8Array;
  receivedCount = 0;
  /**
   * False once a scan found every block requested or received; set again when a request is
   * dropped or answered. Spares pick() rescanning full pieces on every arriving block.
   */
  mayHaveFree = true;
  /** Peers (by label) that sent blocks of it: they share the blame for a bad hash. */
  readonly contributors = new Set<string>();

  constructor(
    readonly index: number,
    readonly size: number,
    readonly buffer: Buffer,
  ) {
    this.blockCount = Math.ceil(size / BLOCK_LENGTH);
    this.requested = new Uint8Array(this.blockCount);
    this.received = new Uint8Array(this.blockCount);
  }

  blockLength(block: number): number {
    return block === this.blockCount - 1 ? this.size - block * BLOCK_LENGTH : BLOCK_LENGTH;
  }

  get complete(): boolean {
    return this.receivedCount === this.blockCount;
  }
}

export type BlockOutcome =
  | { readonly kind: 'stored' }
  | { readonly kind: 'complete'; readonly piece: PartialPiece }
  /** Not wanted: a duplicate (endgame) or a piece we no longer need. */
  | { readonly kind: 'unwanted' };

export class PiecePicker {
  /** Verified pieces. */
  readonly have: Uint8Array;
  haveCount = 0;
  /**
   * Per piece, 1 when it holds bytes of a selected file (all pieces without a selection).
   * Only wanted pieces are ever picked; 'complete' means every wanted piece is verified.
   */
  private readonly wanted: Uint8Array;
  private wantedCount: number;
  private wantedHave = 0;
  /** Per piece, how many of its bytes lie in selected files (what progress counts). */
  private readonly wantedBytesOf: Float64Array | undefined;
  private wantedVerified = 0;
  /**
   * Pieces handed whole to a web seed: not missing until it answers, never had (a piece leaves
   * the set once verified). Once nothing is missing, a claimed piece may be partial as well
   * (peers fetching it too, see pick and claimPiece).
   */
  private readonly claimed = new Set<number>();
  /** Pieces in file order (after the first few), for --sequential and --stdout. */
  sequential = false;
  /** No piece below this index is missing (sequential scans start here). */
  private seqCursor = 0;
  /** How many connected peers have each piece. */
  readonly availability: Uint32Array;
  private readonly partial = new Map<number, PartialPiece>();
  /** Pieces that are neither had nor partial, in no particular order (swap-remove). */
  private readonly missing: number[] = [];
  private readonly missingPos: Int32Array;
  /** Piece buffers returned after writing, reused to spare the garbage collector. */
  private readonly pool: Buffer[] = [];

  constructor(
    readonly geometry: PieceGeometry,
    private readonly random: () => number = Math.random,
    /** Most pieces in progress at once: bounds memory to maxPartial * pieceLength. */
    private readonly maxPartial = 64,
    /** Per piece: bytes in selected files (0 = not wanted). Absent: every piece, whole. */
    wantedBytes?: Float64Array,
  ) {
    this.have = new Uint8Array(geometry.pieceCount);
    this.availability = new Uint32Array(geometry.pieceCount);
    this.missingPos = new Int32Array(geometry.pieceCount).fill(-1);
    this.wanted = new Uint8Array(geometry.pieceCount);
    if (wantedBytes && wantedBytes.length !== geometry.pieceCount) {
      throw new RangeError(`wantedBytes has ${wantedBytes.length} entries for ${geometry.pieceCount} pieces`);
    }
    this.wantedBytesOf = wantedBytes;
    for (let i = 0; i < geometry.pieceCount; i++) {
      if (wantedBytes && !(wantedBytes[i]! > 0)) continue;
      this.wanted[i] = 1;
      this.missingPos[i] = this.missing.length;
      this.missing.push(i);
    }
    this.wantedCount = this.missing.length;
  }

  /** Whether piece `index` holds bytes of a selected file. */
  isWanted(index: number): boolean {
    return this.wanted[index] === 1;
  }

  /** Wanted pieces, and the bytes of selected files (the length progress is measured against). */
  get wantedPieceCount(): number {
    return this.wantedCount;
  }

  get wantedLength(): number {
    if (!this.wantedBytesOf) return this.geometry.length;
    let n = 0;
    for (const b of this.wantedBytesOf) n += b;
    return n;
  }

  /** Bytes of selected files that verified pieces cover. */
  get wantedVerifiedBytes(): number {
    return this.wantedBytesOf ? this.wantedVerified : this.verifiedBytes;
  }

  pieceSize(index: number): number {
    const last = this.geometry.pieceCount - 1;
    return index < last ? this.geometry.pieceLength : this.geometry.length - this.geometry.pieceLength * last;
  }

  /** Every wanted piece is verified (every piece, without a selection). */
  get isComplete(): boolean {
    return this.wantedHave === this.wantedCount;
  }

  /** Every piece of the torrent is verified (a seed in the swarm's eyes). */
  get hasAll(): boolean {
    return this.haveCount === this.geometry.pieceCount;
  }

  get partialCount(): number {
    return this.partial.size;
  }

  /** Bytes of verified pieces. */
  get verifiedBytes(): number {
    let bytes = this.haveCount * this.geometry.pieceLength;
    const last = this.geometry.pieceCount - 1;
    if (this.have[last]) bytes -= this.geometry.pieceLength - this.pieceSize(last);
    return bytes;
  }

  /** Marks a piece verified (found on disk at start, or downloaded and checked). */
  markHave(index: number): void {
    if (this.have[index]) return;
    this.have[index] = 1;
    this.haveCount++;
    if (this.wanted[index]) {
      this.wantedHave++;
      this.wantedVerified += this.wantedBytesOf?.[index] ?? 0;
    }
    this.claimed.delete(index);
    this.removeMissing(index);
    const p = this.partial.get(index);
    if (p) {
      this.partial.delete(index);
      this.release(p.buffer);
    }
  }

  /** A piece failed its hash check: forget its bytes and fetch it again. */
  markFailed(index: number): void {
    const p = this.partial.get(index);
    if (p) {
      this.partial.delete(index);
      this.release(p.buffer);
    }
    this.claimed.delete(index);
    if (!this.have[index] && this.wanted[index]) this.addMissing(index);
  }

  /**
   * Hands a whole missing piece to a web seed (rarest among peers first, then lowest index;
   * lowest index first when sequential): no peer is asked for it while it is claimed.
   */
  claimPiece(): number | undefined {
    if (this.missing.length === 0) return this.claimPartial();
    let best: number | undefined;
    if (this.sequential) {
      best = this.firstMissing(() => true);
    } else {
      let bestAvailability = Infinity;
      for (const index of this.missing) {
        const a = this.availability[index]!;
        if (a < bestAvailability || (a === bestAvailability && index < best!)) {
          best = index;
          bestAvailability = a;
        }
      }
    }
    if (best === undefined) return undefined;
    this.removeMissing(best);
    this.claimed.add(best);
    return best;
  }

  /**
   * Nothing is missing: a web seed may take a piece peers are still fetching (the one with the
   * most blocks to come), so a slow peer does not hold up the end of the download.
   */
  private claimPartial(): number | undefined {
    let best: number | undefined;
    let bestLeft = 0;
    for (const p of this.partial.values()) {
      const left = p.blockCount - p.receivedCount;
      if (left > bestLeft && !this.claimed.has(p.index)) {
        best = p.index;
        bestLeft = left;
      }
    }
    if (best !== undefined) this.claimed.add(best);
    return best;
  }

  /** Whether a web seed still holds piece `index` (nobody else has finished it meanwhile). */
  isClaimed(index: number): boolean {
    return this.claimed.has(index);
  }

  /** A web seed gave up on a claimed piece: it is missing again, unless peers are on it. */
  unclaim(index: number): void {
    if (!this.claimed.delete(index)) return;
    if (!this.have[index] && this.wanted[index] && !this.partial.has(index)) this.addMissing(index);
  }

  /**
   * A web seed delivered piece `index`, verified: it is being written, so it is neither claimed
   * nor partial any more (what peers gathered of it is dropped, their blocks unwanted from now
   * on). True when there was such a partial piece.
   */
  webSeedDelivered(index: number): boolean {
    this.claimed.delete(index);
    const p = this.partial.get(index);
    if (!p) return false;
    this.partial.delete(index);
    this.release(p.buffer);
    return true;
  }

  get claimedCount(): number {
    return this.claimed.size;
  }

  /** Gives a piece buffer back once its bytes are written. */
  release(buffer: Buffer): void {
    if (buffer.length === this.geometry.pieceLength && this.pool.length < this.maxPartial) this.pool.push(buffer);
  }

  peerHasPiece(index: number): void {
    this.availability[index]!++;
  }

  peerLostPiece(index: number): void {
    if (this.availability[index]! > 0) this.availability[index]!--;
  }

  /** Whether the peer has any piece we lack (so we are interested). */
  wants(peer: PickerPeer): boolean {
    for (const index of this.partial.keys()) if (peer.has(index)) return true;
    for (const index of this.missing) if (peer.has(index)) return true;
    // Nothing missing: pieces web seeds hold are fair game too (claimedFor).
    if (this.missing.length === 0) for (const index of this.claimed) if (peer.has(index)) return true;
    return false;
  }

  /** Up to `max` blocks to ask `peer` for, marked requested. */
  pick(peer: PickerPeer, max: number): BlockRequest[] {
    const out: BlockRequest[] = [];
    // Finish what is started first: whole pieces sooner means verified data sooner.
    for (const p of this.partial.values()) {
      if (out.length >= max) return out;
      if (peer.has(p.index)) this.takeFree(p, out, max);
    }
    while (out.length < max && this.partial.size < this.maxPartial) {
      const index = this.chooseNewPiece(peer) ?? this.claimedFor(peer);
      if (index === undefined) break;
      this.takeFree(this.startPiece(index), out, max);
    }
    if (out.length === 0 && this.inEndgame()) this.takeEndgame(peer, out, max);
    return out;
  }

  /**
   * Nothing missing: a piece a web seed holds that peers have not begun and `peer` has. A slow
   * or stalled web seed would otherwise hold the last pieces until it times out.
   */
  private claimedFor(peer: PickerPeer): number | undefined {
    if (this.missing.length > 0) return undefined;
    for (const index of this.claimed) if (!this.partial.has(index) && peer.has(index)) return index;
    return undefined;
  }

  /** Every missing block is in flight or received: time to ask several peers for the rest. */
  inEndgame(): boolean {
    if (this.missing.length > 0) return false;
    for (const p of this.partial.values()) {
      for (let b = 0; b < p.blockCount; b++) if (!p.received[b] && p.requested[b] === 0) return false;
    }
    return this.partial.size > 0;
  }

  /** A request will not be answered: its block is free again. */
  requestDropped(index: number, begin: number): void {
    const p = this.partial.get(index);
    if (!p) return;
    const b = begin / BLOCK_LENGTH;
    if (p.requested[b]! > 0) p.requested[b]!--;
    p.mayHaveFree = true;
  }

  /** Stores a received block; says whether its piece is now complete. */
  blockReceived(index: number, begin: number, data: Buffer, from: string): BlockOutcome {
    const p = this.partial.get(index);
    const b = begin / BLOCK_LENGTH;
    if (!p || !Number.isInteger(b) || b >= p.blockCount) return { kind: 'unwanted' };
    if (p.requested[b]! > 0) p.requested[b]!--;
    if (p.received[b] || data.length !== p.blockLength(b)) {
      // A block of the wrong length is dropped: with no request left for it, it is free again.
      if (!p.received[b] && p.requested[b] === 0) p.mayHaveFree = true;
      return { kind: 'unwanted' };
    }
    data.copy(p.buffer, begin);
    p.received[b] = 1;
    p.receivedCount++;
    p.contributors.add(from);
    if (!p.complete) return { kind: 'stored' };
    // Out of the partial set now, so nobody picks its blocks while it is hashed and written;
    // a web seed still fetching it will find its claim gone and drop its copy.
    this.partial.delete(index);
    this.claimed.delete(index);
    return { kind: 'complete', piece: p };
  }

  /** A completed piece is being hashed or written: neither missing nor partial. */
  private takeFree(p: PartialPiece, out: BlockRequest[], max: number): void {
    if (!p.mayHaveFree) return;
    let b = 0;
    for (; b < p.blockCount && out.length < max; b++) {
      if (p.received[b] || p.requested[b]! > 0) continue;
      p.requested[b] = 1;
      out.push({ index: p.index, begin: b * BLOCK_LENGTH, length: p.blockLength(b) });
    }
    // Scanned to the end: nothing is free until a request is dropped or answered.
    if (b === p.blockCount) p.mayHaveFree = false;
  }

  private takeEndgame(peer: PickerPeer, out: BlockRequest[], max: number): void {
    for (const p of this.partial.values()) {
      if (!peer.has(p.index)) continue;
      for (let b = 0; b < p.blockCount && out.length < max; b++) {
        const begin = b * BLOCK_LENGTH;
        if (p.received[b] || p.requested[b]! >= ENDGAME_MAX_DUPLICATES || peer.isRequested(p.index, begin)) continue;
        p.requested[b]!++;
        out.push({ index: p.index, begin, length: p.blockLength(b) });
      }
    }
  }

  private chooseNewPiece(peer: PickerPeer): number | undefined {
    const missing = this.missing;
    const n = missing.length;
    if (n === 0) return undefined;
    const start = Math.floor(this.random() * n);
    if (this.haveCount + this.partial.size < RANDOM_FIRST_PIECES) {
      for (let k = 0; k < n; k++) {
        const index = missing[(start + k) % n]!;
        if (peer.has(index)) return index;
      }
      return undefined;
    }
    if (this.sequential) return this.firstMissing((i) => peer.has(i));
    // Rarest first; scanning from a random start makes the choice random among equals.
    let best: number | undefined;
    let bestAvailability = Infinity;
    for (let k = 0; k < n; k++) {
      const index = missing[(start + k) % n]!;
      const a = this.availability[index]!;
      if (a < bestAvailability && peer.has(index)) {
        best = index;
        bestAvailability = a;
        if (a <= 1) break; // nothing is rarer than a piece only this peer has
      }
    }
    return best;
  }

  /** The lowest missing piece that `ok` accepts; moves the cursor past pieces no longer missing. */
  private firstMissing(ok: (index: number) => boolean): number | undefined {
    const n = this.geometry.pieceCount;
    while (this.seqCursor < n && this.missingPos[this.seqCursor]! < 0) this.seqCursor++;
    for (let i = this.seqCursor; i < n; i++) if (this.missingPos[i]! >= 0 && ok(i)) return i;
    return undefined;
  }

  private startPiece(index: number): PartialPiece {
    this.removeMissing(index);
    const size = this.pieceSize(index);
    const pooled = size === this.geometry.pieceLength ? this.pool.pop() : undefined;
    // Every byte is overwritten by received blocks before the piece is hashed or used.
    const buffer = pooled ?? Buffer.allocUnsafeSlow(size);
    const p = new PartialPiece(index, size, buffer);
    this.partial.set(index, p);
    return p;
  }

  private removeMissing(index: number): void {
    const pos = this.missingPos[index]!;
    if (pos < 0) return;
    const last = this.missing.pop()!;
    if (last !== index) {
      this.missing[pos] = last;
      this.missingPos[last] = pos;
    }
    this.missingPos[index] = -1;
  }

  private addMissing(index: number): void {
    if (this.missingPos[index]! >= 0) return;
    if (index < this.seqCursor) this.seqCursor = index;
    this.missingPos[index] = this.missing.length;
    this.missing.push(index);
  }
}
