/**
 * Our outstanding queries. A reply is ours only when its transaction id AND the exact address
 * and port match the query's (BEP 5 leaves address matching out; without it anyone who sees
 * or guesses a 2-byte id could answer for another node). Bounded in count, each with a timeout.
 */
import type { KrpcMessage } from './krpc.js';

/** Queries outstanding at once over all lookups; more are refused (the caller treats as no answer). */
export const MAX_PENDING = 256;

interface Pending {
  readonly host: string;
  readonly port: number;
  readonly resolve: (m: KrpcMessage | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

export class Transactions {
  private readonly pending = new Map<string, Pending>();
  private next = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly max = MAX_PENDING,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Opens a transaction to host:port: its id to send, and the answer (undefined on timeout,
   * after `onTimeout` ran). Undefined when too many are outstanding.
   */
  open(host: string, port: number, onTimeout: () => void): { t: Buffer; answer: Promise<KrpcMessage | undefined> } | undefined {
    if (this.pending.size >= this.max) return undefined;
    let t: Buffer | undefined;
    for (let i = 0; i < 0x10000 && !t; i++) {
      this.next = (this.next + 1) & 0xffff;
      const c = Buffer.alloc(2);
      c.writeUInt16BE(this.next);
      if (!this.pending.has(c.toString('hex'))) t = c;
    }
    if (!t) return undefined;
    const key = t.toString('hex');
    const answer = new Promise<KrpcMessage | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        onTimeout();
        resolve(undefined);
      }, this.timeoutMs);
      this.pending.set(key, { host, port, resolve, timer });
    });
    return { t, answer };
  }

  /** Settles the transaction `msg` answers; false (and nothing settled) when it is not ours. */
  settle(msg: KrpcMessage, host: string, port: number): boolean {
    const key = msg.t.toString('hex');
    const p = this.pending.get(key);
    if (!p || p.host !== host || p.port !== port) return false;
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.resolve(msg);
    return true;
  }

  /** Ends every transaction unanswered (on close). */
  cancelAll(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
  }
}
