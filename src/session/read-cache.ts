/**
 * Recently read data, kept for uploads: peers ask for a piece block by block, so one disk read
 * serves many blocks. The unit is a chunk of at most CHUNK_BYTES at an aligned offset in its
 * piece (a whole piece when pieces are small), so a block of a 64 MiB piece costs a 1 MiB read,
 * not a whole-piece read. Bounded by bytes; least recently used goes first. The block handed
 * out is a view into the cached chunk: no copy.
 */
export const CHUNK_BYTES = 1024 * 1024;

export class PieceReadCache {
  private readonly entries = new Map<number, Promise<Buffer>>();
  private bytes = 0;
  private readonly sizes = new Map<number, number>();

  constructor(
    /** Reads `length` bytes at `begin` of piece `index`. */
    private readonly read: (index: number, begin: number, length: number) => Promise<Buffer>,
    /** Size of piece `index`. */
    private readonly sizeOf: (index: number) => number,
    private readonly maxBytes: number,
  ) {}

  async block(index: number, begin: number, length: number): Promise<Buffer> {
    const chunk = Math.floor(begin / CHUNK_BYTES);
    const chunkBegin = chunk * CHUNK_BYTES;
    // A block straddling a chunk edge (not one of ours: peers may ask odd offsets) is read alone.
    if (begin + length > chunkBegin + CHUNK_BYTES) return this.read(index, begin, length);
    // Chunks per piece are at most 64 (64 MiB pieces): the key is unique.
    const key = index * 64 + chunk;
    let entry = this.entries.get(key);
    if (entry) {
      // Re-insert: Map order is our recency order.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      const chunkLength = Math.min(CHUNK_BYTES, this.sizeOf(index) - chunkBegin);
      entry = this.read(index, chunkBegin, chunkLength);
      this.entries.set(key, entry);
      entry.then(
        (buf) => {
          if (this.entries.get(key) !== entry) return;
          this.sizes.set(key, buf.length);
          this.bytes += buf.length;
          this.evict();
        },
        () => this.entries.delete(key),
      );
    }
    const data = await entry;
    return data.subarray(begin - chunkBegin, begin - chunkBegin + length);
  }

  clear(): void {
    this.entries.clear();
    this.sizes.clear();
    this.bytes = 0;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) return;
      const size = this.sizes.get(key);
      if (size === undefined) continue; // still being read
      this.entries.delete(key);
      this.sizes.delete(key);
      this.bytes -= size;
    }
  }
}
