/**
 * Piece writes of a download on the event loop while the page cache absorbs them, on libuv's
 * thread pool once the disk is really being waited for.
 *
 * Why: a 256 KiB write into the page cache takes about a tenth of a millisecond, less than the
 * thread pool's hand-off and wake-up around it; done in place, a 1 GiB download from libtorrent
 * ran 10% faster at the same CPU, with a steadier peak RSS (npm run bench, A/B). aria2 and
 * Transmission write on their event loop too. But a disk that makes a call wait (a spinning
 * disk, a network share, the kernel throttling dirty pages) must not stall every socket: the
 * first write that takes longer than SLOW_IO_MS sends all later ones to the pool.
 * Reads for uploads stay on the pool: in place they saved CPU but served a libtorrent leecher
 * 10% slower (the next chunk's read no longer overlapped the sending).
 */
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import createDebug from 'debug';

const log = createDebug('pytor:storage');

/** A call slower than this means the disk, not the page cache, is answering. */
export const SLOW_IO_MS = 5;

export class TransferIo {
  /** False once a call was slow (or `inPlace` was off from the start). */
  private inPlace: boolean;

  constructor(
    inPlace = true,
    /** The clock (injectable for tests). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.inPlace = inPlace;
  }

  /** Whether calls still run on the event loop. */
  get onEventLoop(): boolean {
    return this.inPlace;
  }

  /** Writes `length` bytes of `data` from `offset` at `position`; the count written. */
  async write(h: FileHandle, data: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (!this.inPlace) return (await h.write(data, offset, length, position)).bytesWritten;
    const t0 = this.now();
    const n = writeSync(h.fd, data, offset, length, position);
    const ms = this.now() - t0;
    if (ms > SLOW_IO_MS) {
      this.inPlace = false;
      log('a write took %d ms: piece writes move to the thread pool', Math.round(ms));
    }
    return n;
  }
}
