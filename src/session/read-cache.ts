/**
 * Recently read pieces, kept for uploads: peers ask for a piece block by block, so one disk
 * read serves the whole piece. Bounded by bytes; least recently used goes first.
 */
export class PieceReadCache {
  private readonly entries = new Map<number, Promise<Buffer>>();
  private bytes = 0;
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly read: (index: number) => Promise<Buffer>,
    private readonly maxBytes: number,
  ) {}

  async block(index: number, begin: number, length: number): Promise<Buffer> {
    let entry = this.entries.get(index);
    if (entry) {
      // Re-insert: Map order is our recency order.
      this.entries.delete(index);
      this.entries.set(index, entry);
    } else {
      entry = this.read(index);
      this.entries.set(index, entry);
      entry.then(
        (buf) => {
          if (this.entries.get(index) !== entry) return;
          this.sizes.set(index, buf.length);
          this.bytes += buf.length;
          this.evict();
        },
        () => this.entries.delete(index),
      );
    }
    const piece = await entry;
    return piece.subarray(begin, begin + length);
  }

  clear(): void {
    this.entries.clear();
    this.sizes.clear();
    this.bytes = 0;
  }

  private evict(): void {
    for (const index of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) return;
      const size = this.sizes.get(index);
      if (size === undefined) continue; // still being read
      this.entries.delete(index);
      this.sizes.delete(index);
      this.bytes -= size;
    }
  }
}
