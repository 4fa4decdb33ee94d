/**
 * SHA-1 of whole pieces off the main thread: the main thread reads sockets and writes files
 * while a worker hashes (on a 2-core machine the two overlap). A piece's memory is transferred
 * to the worker and back, not copied; the caller gets a new Buffer over the same memory. A
 * buffer that does not own its memory (a slice of a pool) is hashed here instead.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface HashResult {
  readonly digest: Buffer;
  /** The piece's bytes: the same memory as given, as a new Buffer when it went to the worker. */
  readonly buffer: Buffer;
}

interface Pending {
  resolve(r: HashResult): void;
  reject(err: Error): void;
  length: number;
}

export class PieceHasher {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private failed = false;

  hash(buffer: Buffer): Promise<HashResult> {
    const ab = buffer.buffer;
    const owned = ab instanceof ArrayBuffer && buffer.byteOffset === 0 && buffer.byteLength === ab.byteLength;
    const worker = owned && !this.failed ? this.ensureWorker() : undefined;
    if (!worker) return Promise.resolve({ digest: createHash('sha1').update(buffer).digest(), buffer });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, length: buffer.length });
      // The worker keeps the process alive only while a piece is out with it.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, buffer: ab, length: buffer.length }, [ab as ArrayBuffer]);
    });
  }

  /** Ends the worker; pieces still out with it are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(new Error('hasher closed'));
    this.pending.clear();
    await worker?.terminate();
  }

  private ensureWorker(): Worker | undefined {
    if (this.worker) return this.worker;
    try {
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
      worker.unref();
      worker.on('message', (m: { id: number; buffer: ArrayBuffer; digest: Uint8Array }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (this.pending.size === 0) worker.unref();
        p.resolve({ digest: Buffer.from(m.digest), buffer: Buffer.from(m.buffer, 0, p.length) });
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', () => {
        if (this.worker === worker) this.fail(new Error('hash worker exited'));
      });
      this.worker = worker;
      return worker;
    } catch {
      this.failed = true;
      return undefined;
    }
  }

  /** A dead worker: what was out with it is lost (those pieces are fetched again); hash here from now on. */
  private fail(err: Error): void {
    this.failed = true;
    this.worker = undefined;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** One hasher for the process: its worker starts with the first piece and idles unref'd. */
export const sharedHasher = new PieceHasher();
