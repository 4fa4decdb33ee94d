/**
 * The receive side of one uTP connection (BEP 29): the in-order inbox the reader drains, the
 * bounded reordering buffer for packets that arrived ahead of a gap, the selective ack mask
 * that describes that buffer, and where the other side's FIN is. Both buffers together never
 * hold more than `capacity` bytes; what does not fit is dropped unacked, so the other side
 * resends it once the reader made room.
 */
import { PacketType, seqAdd, seqDistance, seqLess, type Packet } from './packet.js';

/** Out-of-order packets held at most (besides the byte bound). */
export const MAX_REORDER_PACKETS = 1024;
/** A selective ack covers at most this many bytes of bitmask (32 * 8 = 256 packets). */
export const MAX_SACK_BYTES = 32;

export class ReceiveBuffer {
  /** Last sequence number received in order. */
  ackNr = 0;
  /** Sequence number of the other side's FIN, once seen. */
  private eofSeq: number | null = null;
  /** Everything up to the other side's FIN arrived. */
  eofReached = false;
  /** ...and the reader was told (read() returned null). */
  eofRead = false;

  private readonly inbox: Buffer[] = [];
  private inboxLength = 0;
  private readonly reorder = new Map<number, Buffer>();
  private reorderLength = 0;

  constructor(readonly capacity: number) {}

  get inboxBytes(): number {
    return this.inboxLength;
  }

  get reorderBytes(): number {
    return this.reorderLength;
  }

  get reorderPackets(): number {
    return this.reorder.size;
  }

  /** The receive window we advertise: the room left in both buffers. */
  get window(): number {
    return Math.max(0, this.capacity - this.inboxLength - this.reorderLength);
  }

  /**
   * A DATA or FIN packet. True if data (or the end) moved into the inbox in order, so the
   * reader has something new; false if it was held for reordering or dropped.
   */
  receive(p: Packet): boolean {
    const seq = p.seq;
    if (p.type === PacketType.FIN) {
      if (this.eofSeq === null) this.eofSeq = seq;
      else if (seq !== this.eofSeq) return false;
    } else if (this.eofSeq !== null && !seqLess(seq, this.eofSeq)) {
      return false; // data after the FIN
    }
    const next = seqAdd(this.ackNr, 1);
    if (seq === next) {
      // In order, but dropped (not acked) if the buffers are full.
      if (p.payload.length > 0 && this.inboxLength + this.reorderLength + p.payload.length > this.capacity) return false;
      this.pushInbox(p.payload);
      this.ackNr = seq;
      if (seq === this.eofSeq) this.eofReached = true;
      // Move what was waiting in order into the inbox.
      for (;;) {
        const n = seqAdd(this.ackNr, 1);
        const buf = this.reorder.get(n);
        if (buf === undefined) break;
        this.reorder.delete(n);
        this.reorderLength -= buf.length;
        this.pushInbox(buf);
        this.ackNr = n;
        if (n === this.eofSeq) this.eofReached = true;
      }
      return true;
    } else if (seqLess(next, seq)) {
      // Ahead of a gap: keep it, within the window and the packet bound.
      const distance = seqDistance(next, seq);
      if (distance >= MAX_REORDER_PACKETS || this.reorder.has(seq)) return false;
      if (this.reorder.size >= MAX_REORDER_PACKETS) return false;
      if (this.inboxLength + this.reorderLength + p.payload.length > this.capacity) return false;
      this.reorder.set(seq, p.payload);
      this.reorderLength += p.payload.length;
    }
    // else: a duplicate of something already received; the ack repairs the other side.
    return false;
  }

  /** The next in-order chunk, or undefined when the inbox is empty. */
  shift(): Buffer | undefined {
    const chunk = this.inbox.shift();
    if (chunk) this.inboxLength -= chunk.length;
    return chunk;
  }

  /** The selective ack mask for what waits out of order, or null when nothing does. */
  sack(): Buffer | null {
    if (this.reorder.size === 0) return null;
    const base = seqAdd(this.ackNr, 2);
    let highest = 0;
    for (const seq of this.reorder.keys()) {
      const d = seqDistance(base, seq);
      if (d < MAX_SACK_BYTES * 8 && d > highest) highest = d;
    }
    const bytes = Math.min(MAX_SACK_BYTES, Math.ceil((highest + 1) / 32) * 4);
    const mask = Buffer.alloc(bytes);
    for (const seq of this.reorder.keys()) {
      const d = seqDistance(base, seq);
      if (d < bytes * 8) mask[d >> 3] = mask[d >> 3]! | (1 << (d & 7));
    }
    return mask;
  }

  /** Drops what waits out of order (the connection closed); the inbox stays readable. */
  clearReorder(): void {
    this.reorder.clear();
    this.reorderLength = 0;
  }

  private pushInbox(buf: Buffer): void {
    if (buf.length === 0) return;
    this.inbox.push(buf);
    this.inboxLength += buf.length;
  }
}
