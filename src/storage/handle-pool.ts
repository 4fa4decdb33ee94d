import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  readonly handle: Promise<FileHandle>;
  users: number;
}

/**
 * Keeps at most `max` file handles open, closing the least recently used idle one when a new
 * one is needed. A handle in use is never closed under its user (the pool may then briefly
 * hold more than `max`). Map insertion order is the recency order.
 */
export class HandlePool {
  private readonly entries = new Map<number, Entry>();
  /** Closes of evicted handles still running; closeAll waits for them too. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly pathOf: (fileIndex: number) => string,
    private readonly flags: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Runs `fn` with the open handle of file `fileIndex`. */
  async use<T>(fileIndex: number, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(fileIndex);
    if (entry) {
      this.entries.delete(fileIndex);
      this.entries.set(fileIndex, entry);
    } else {
      entry = { handle: open(this.pathOf(fileIndex), this.flags), users: 0 };
      this.entries.set(fileIndex, entry);
      const opening = entry;
      // A failed open must not stay cached.
      opening.handle.catch(() => {
        if (this.entries.get(fileIndex) === opening) this.entries.delete(fileIndex);
      });
    }
    entry.users++;
    try {
      const handle = await entry.handle;
      this.evictIdle();
      return await fn(handle);
    } finally {
      entry.users--;
      this.evictIdle();
    }
  }

  private evictIdle(): void {
    if (this.entries.size <= this.max) return;
    for (const [index, entry] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (entry.users > 0) continue;
      this.entries.delete(index);
      const done: Promise<void> = entry.handle
        .then((h) => h.close())
        .catch(() => undefined)
        .finally(() => this.closing.delete(done));
      this.closing.add(done);
    }
  }

  /** Closes every handle; waits for each close. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled([...all.map(async (e) => (await e.handle).close()), ...this.closing]);
  }
}
