/**
 * Recently read data, kept for uploads: peers ask for a piece block by block, so one disk read
 * serves many blocks. The unit is a chunk of at most CHUNK_BYTES at an aligned offset in its
 * piece (a whole piece when pieces are small), so a block of a 64 MiB piece costs a 1 MiB read,
 * not a whole-piece read. Bounded by bytes; least recently used goes first.
 *
 * A block is handed out as a lease on a view into its chunk (no copy). Chunk buffers are
 * reused: an evicted chunk goes back to a free list once every lease on it is released, so
 * seeding allocates almost nothing (allocating a fresh buffer per read cost a full GC every
 * ~13 MB served: about a second of CPU per GiB).
 */
export const CHUNK_BYTES = 1024 * 1024;

/** A block of a cached chunk. The data is valid until release(); call it exactly once. */
export interface BlockLease {
  readonly data: Buffer;
  release(): void;
}

interface Chunk {
  /** A slab of `slabBytes`, of which the first `length` bytes hold the chunk. */
  readonly slab: Buffer;
  readonly length: number;
  leases: number;
  /** Out of the cache: the slab is free once the last lease goes. */
  evicted: boolean;
}

export class PieceReadCache {
  private readonly entries = new Map<number, Promise<Chunk>>();
  /** Chunks read and cached (bytes counted against maxBytes). */
  private readonly loaded = new Map<number, Chunk>();
  private bytes = 0;
  private readonly free: Buffer[] = [];
  private readonly slabBytes: number;
  /** Bumped by clear(): a read that started before belongs to no cache. */
  private generation = 0;

  constructor(
    /** Fills `target` with the bytes at `begin` of piece `index`. */
    private readonly readInto: (index: number, begin: number, target: Buffer) => Promise<unknown>,
    /** Size of piece `index`. */
    private readonly sizeOf: (index: number) => number,
    private readonly maxBytes: number,
    /** The torrent's piece length: slabs are min(CHUNK_BYTES, pieceLength) bytes. */
    pieceLength: number,
  ) {
    this.slabBytes = Math.min(CHUNK_BYTES, pieceLength);
  }

  /** Free slabs kept for reuse (for tests and diagnostics). */
  get freeSlabs(): number {
    return this.free.length;
  }

  async block(index: number, begin: number, length: number): Promise<BlockLease> {
    const chunkIndex = Math.floor(begin / CHUNK_BYTES);
    const chunkBegin = chunkIndex * CHUNK_BYTES;
    // A block straddling a chunk edge (not one of ours: peers may ask odd offsets) is read alone.
    if (begin + length > chunkBegin + CHUNK_BYTES) {
      const data = Buffer.allocUnsafe(length);
      await this.readInto(index, begin, data);
      return { data, release: () => {} };
    }
    // Chunks per piece are at most 64 (64 MiB pieces): the key is unique.
    const key = index * 64 + chunkIndex;
    let entry = this.entries.get(key);
    if (entry) {
      // Re-insert: Map order is our recency order.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = this.load(key, index, chunkBegin);
      this.entries.set(key, entry);
    }
    const chunk = await entry;
    if (begin - chunkBegin + length > chunk.length) throw new RangeError(`block ${index}:${begin}+${length} is past the piece`);
    chunk.leases++;
    let released = false;
    return {
      data: chunk.slab.subarray(begin - chunkBegin, begin - chunkBegin + length),
      release: () => {
        if (released) return;
        released = true;
        chunk.leases--;
        if (chunk.evicted && chunk.leases === 0) this.recycle(chunk.slab);
      },
    };
  }

  clear(): void {
    for (const chunk of this.loaded.values()) this.retire(chunk);
    this.entries.clear();
    this.loaded.clear();
    this.bytes = 0;
    this.generation++;
  }

  private async load(key: number, index: number, chunkBegin: number): Promise<Chunk> {
    const generation = this.generation;
    const length = Math.min(CHUNK_BYTES, this.sizeOf(index) - chunkBegin);
    // Slabs are all one size; a short chunk (the last piece's) uses the front of one.
    const slab = length <= this.slabBytes ? (this.free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes)) : Buffer.allocUnsafeSlow(length);
    try {
      await this.readInto(index, chunkBegin, slab.subarray(0, length));
    } catch (err) {
      if (generation === this.generation) this.entries.delete(key);
      this.recycle(slab);
      throw err;
    }
    // Cleared while reading: serve this one read and keep nothing (the GC takes the slab).
    if (generation !== this.generation) return { slab, length, leases: 0, evicted: true };
    const chunk: Chunk = { slab, length, leases: 0, evicted: false };
    this.loaded.set(key, chunk);
    this.bytes += length;
    this.evict();
    return chunk;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) return;
      const chunk = this.loaded.get(key);
      if (chunk === undefined) continue; // still being read
      this.entries.delete(key);
      this.loaded.delete(key);
      this.bytes -= chunk.length;
      this.retire(chunk);
    }
  }

  private retire(chunk: Chunk): void {
    chunk.evicted = true;
    if (chunk.leases === 0) this.recycle(chunk.slab);
  }

  private recycle(slab: Buffer): void {
    // Bounded: no more free slabs than the cache itself could hold.
    if (slab.length === this.slabBytes && this.free.length * this.slabBytes < this.maxBytes) this.free.push(slab);
  }
}
