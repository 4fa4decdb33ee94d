/**
 * The send side of one uTP connection (BEP 29): the queue of bytes not yet sent, the packets in
 * flight with their retransmission, the processing of acks and selective acks, and the windows
 * (LEDBAT's congestion window and the other side's receive window) that bound what may go out.
 * It never stamps nor sends a datagram itself: `emit` (the connection's) fills in the timestamp,
 * ack and window fields and sends it.
 */
import { Ledbat } from './congestion.js';
import { EXTENSION_SELECTIVE_ACK, HEADER_LENGTH, PacketType, firstByte, sackedSeqs, selectiveAck, seqAdd, seqLess, type Packet } from './packet.js';
import { RttEstimator } from './rtt.js';

export const MAX_SYN_RESENDS = 3;
/** Timeouts in a row without an ack before the connection is declared dead. */
export const MAX_DATA_RESENDS = 7;

export interface OutPacket {
  readonly seq: number;
  readonly type: PacketType;
  /** Encoded once; the timestamp, ack and window fields are rewritten on each transmission. */
  readonly datagram: Buffer;
  readonly size: number;
  sentAt: number;
  transmissions: number;
  needResend: boolean;
  sacked: boolean;
  fastResent: boolean;
}

export interface SendBufferOptions {
  recvId: number;
  sendId: number;
  /** Our first sequence number. */
  seq: number;
  payloadSize: number;
  sendBufferMax: number;
  targetDelayUs?: number;
  /** Stamps the header (timestamp, ack, window) and sends the datagram. */
  emit: (datagram: Buffer, now: number) => void;
}

/**
 * A packet that is sent once and never kept for retransmission (ST_STATE, ST_RESET, the FIN of
 * destroy()), with a selective ack when `sack` is given; the caller stamps the header.
 */
export function controlDatagram(type: PacketType, sendId: number, seq: number, sack: Buffer | null): Buffer {
  const d = Buffer.alloc(HEADER_LENGTH + (sack ? 2 + sack.length : 0));
  d[0] = firstByte(type);
  d[1] = sack ? EXTENSION_SELECTIVE_ACK : 0;
  d.writeUInt16BE(sendId, 2);
  d.writeUInt16BE(seq, 16);
  if (sack) {
    d[HEADER_LENGTH] = 0;
    d[HEADER_LENGTH + 1] = sack.length;
    sack.copy(d, HEADER_LENGTH + 2);
  }
  return d;
}

export class SendBuffer {
  /** Next sequence number we will use for a DATA/FIN. */
  seqNr: number;
  peerWindow: number;
  readonly ledbat: Ledbat;
  readonly rtt = new RttEstimator();

  private readonly recvId: number;
  private readonly sendId: number;
  private readonly payloadSize: number;
  private readonly emit: (datagram: Buffer, now: number) => void;

  readonly inflight = new Map<number, OutPacket>();
  inflightBytes = 0;
  private readonly queue: Buffer[] = [];
  queuedBytes = 0;
  /** end() was called: a FIN goes after everything queued. */
  endQueued = false;
  finSentSeq: number | null = null;
  finAcked = false;

  private dupAcks = 0;
  private lastAckSeen = -1;
  rtoDeadline: number | null = null;
  /** Data waited for the window since the last flush (LEDBAT grows only then). */
  private windowLimited = false;
  consecutiveTimeouts = 0;
  retransmits = 0;

  constructor(opts: SendBufferOptions) {
    this.recvId = opts.recvId;
    this.sendId = opts.sendId;
    this.seqNr = opts.seq;
    this.payloadSize = opts.payloadSize;
    this.emit = opts.emit;
    this.ledbat = new Ledbat({ mss: opts.payloadSize, maxWindow: opts.sendBufferMax, targetDelayUs: opts.targetDelayUs });
    // Until the other side tells us its window, assume one packet.
    this.peerWindow = opts.payloadSize;
  }

  /** Bytes queued or in flight. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.inflightBytes;
  }

  push(data: Buffer): void {
    this.queue.push(data);
    this.queuedBytes += data.length;
  }

  sendSyn(now: number): void {
    this.transmit(this.makeOutPacket(PacketType.SYN, Buffer.alloc(0)), now);
  }

  /** Retransmissions, new data and the FIN, as far as the windows allow. True if anything went. */
  flush(now: number): boolean {
    let sent = false;
    // Retransmissions within the congestion window (after a timeout it is one packet; each
    // ack lets more go, and a cumulative ack removes the ones that had arrived after all).
    let budget = Math.max(this.ledbat.cwnd, this.payloadSize);
    for (const p of this.inflight.values()) {
      if (budget <= 0) break;
      if (p.needResend && !p.sacked) {
        this.transmit(p, now);
        budget -= Math.max(p.size, 1);
        sent = true;
      }
    }
    while (this.sendNewData(now, false)) sent = true;
    if (this.queuedBytes === 0) this.windowLimited = false; // application-limited
    if (this.endQueued && this.finSentSeq === null && this.queuedBytes === 0) {
      const fin = this.makeOutPacket(PacketType.FIN, Buffer.alloc(0));
      this.finSentSeq = fin.seq;
      this.transmit(fin, now);
      sent = true;
    }
    return sent;
  }

  /**
   * Nothing in flight, data waiting and the other side's window too small for it: its window
   * opening would never be announced (acks only come for data), so a probe is due.
   */
  get windowProbeDue(): boolean {
    return this.inflight.size === 0 && this.queuedBytes > 0 && this.peerWindow < Math.min(this.payloadSize, this.queuedBytes);
  }

  /** One new DATA packet if the windows allow (or `force`, for a zero-window probe). */
  sendNewData(now: number, force: boolean): boolean {
    if (this.queuedBytes === 0) return false;
    const size = Math.min(this.payloadSize, this.queuedBytes);
    const window = Math.min(this.ledbat.cwnd, this.peerWindow);
    if (!force && this.inflightBytes + size > window) {
      this.windowLimited = true;
      return false;
    }
    // Sequence space: never more than half of it outstanding.
    if (this.inflight.size >= 0x7000) return false;
    const payload = this.takeFromQueue(size);
    this.transmit(this.makeOutPacket(PacketType.DATA, payload), now);
    return true;
  }

  /**
   * The ack part of a packet from the other side: removes what it acks from the flight,
   * feeds RTT and LEDBAT, and marks losses (three duplicate acks, or selective acks) for
   * resending. True if anything was newly acked.
   */
  onAck(p: Packet, now: number): boolean {
    const ack = p.ack;
    const oldest = this.inflight.keys().next();
    let bytesAcked = 0;
    let advanced = false;
    // An ack outside [oldest unacked - 1, last sent] is stale or hostile: its ack part is ignored.
    const valid = !oldest.done && !seqLess(seqAdd(this.seqNr, -1), ack) && !seqLess(ack, seqAdd(oldest.value, -1));
    if (valid) {
      for (const [seq, out] of this.inflight) {
        if (seqLess(ack, seq)) break;
        this.inflight.delete(seq);
        if (!out.sacked) {
          this.inflightBytes -= out.size;
          bytesAcked += out.size;
        }
        advanced = true;
        if (out.transmissions === 1) this.rtt.sample(now - out.sentAt);
        if (out.type === PacketType.FIN) this.finAcked = true;
      }
      const mask = selectiveAck(p);
      if (mask && this.inflight.size > 0) bytesAcked += this.onSack(ack, mask, now);
    }
    // An answer with a closed window: the peer is alive and merely slow to read, so probes it
    // dropped for want of room do not count toward declaring it dead.
    if (valid && p.windowSize < this.payloadSize) this.consecutiveTimeouts = 0;
    if (bytesAcked > 0) {
      if (p.timestampDiff !== 0) this.ledbat.addDelaySample(now, p.timestampDiff);
      this.ledbat.onAck(bytesAcked, this.windowLimited);
    }
    if (advanced) {
      this.consecutiveTimeouts = 0;
      this.dupAcks = 0;
      this.rtoDeadline = this.inflight.size > 0 ? now + this.rtt.timeout() : null;
    } else if (valid && p.type === PacketType.STATE && ack === this.lastAckSeen && this.inflight.size > 0) {
      // Fast retransmit: the third duplicate ack means the packet after `ack` was lost.
      if (++this.dupAcks === 3) {
        const lost = this.inflight.get(seqAdd(ack, 1));
        if (lost && !lost.sacked && !lost.fastResent) {
          lost.fastResent = true;
          lost.needResend = true;
          this.ledbat.onLoss(now, this.rtt.rtt);
        }
      }
    }
    this.lastAckSeen = ack;
    return advanced || bytesAcked > 0;
  }

  /**
   * The retransmission timer fired. Returns 'dead' when too many timeouts came in a row (the
   * connection should close), else resends: the SYN while `synSent`, else the oldest packet.
   */
  onRetransmitTimeout(now: number, synSent: boolean): 'dead' | 'ok' {
    this.rtoDeadline = null;
    if (this.inflight.size === 0) return 'ok';
    this.consecutiveTimeouts++;
    const limit = synSent ? MAX_SYN_RESENDS : MAX_DATA_RESENDS;
    if (this.consecutiveTimeouts > limit) return 'dead';
    this.rtt.onTimeout();
    if (synSent) {
      const syn = this.inflight.values().next().value!;
      this.transmit(syn, now);
      return 'ok';
    }
    this.ledbat.onTimeout();
    // Everything unacked is presumed lost (a whole window can vanish in a full UDP buffer);
    // the oldest goes now, the rest as acks reopen the window.
    let first = true;
    for (const out of this.inflight.values()) {
      if (out.sacked) continue;
      out.fastResent = false;
      if (first) this.transmit(out, now);
      else out.needResend = true;
      first = false;
    }
    if (this.rtoDeadline === null) this.rtoDeadline = now + this.rtt.timeout();
    return 'ok';
  }

  /** Drops everything unsent and in flight (the connection closed). */
  clear(): void {
    this.inflight.clear();
    this.inflightBytes = 0;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.rtoDeadline = null;
  }

  // ---- internals ------------------------------------------------------------------------

  private makeOutPacket(type: PacketType, payload: Buffer): OutPacket {
    const seq = this.seqNr;
    this.seqNr = seqAdd(this.seqNr, 1);
    const datagram = Buffer.alloc(HEADER_LENGTH + payload.length);
    datagram[0] = firstByte(type);
    datagram.writeUInt16BE(type === PacketType.SYN ? this.recvId : this.sendId, 2);
    datagram.writeUInt16BE(seq, 16);
    payload.copy(datagram, HEADER_LENGTH);
    const p: OutPacket = { seq, type, datagram, size: payload.length, sentAt: 0, transmissions: 0, needResend: false, sacked: false, fastResent: false };
    this.inflight.set(seq, p);
    this.inflightBytes += p.size;
    return p;
  }

  private transmit(p: OutPacket, now: number): void {
    if (p.transmissions > 0) this.retransmits++;
    p.transmissions++;
    p.sentAt = now;
    p.needResend = false;
    this.emit(p.datagram, now);
    if (this.rtoDeadline === null) this.rtoDeadline = now + this.rtt.timeout();
  }

  private takeFromQueue(size: number): Buffer {
    const head = this.queue[0]!;
    let out: Buffer;
    if (head.length >= size) {
      out = head.subarray(0, size);
      if (head.length === size) this.queue.shift();
      else this.queue[0] = head.subarray(size);
    } else {
      const parts: Buffer[] = [];
      let need = size;
      while (need > 0) {
        const h = this.queue[0]!;
        if (h.length <= need) {
          parts.push(h);
          this.queue.shift();
          need -= h.length;
        } else {
          parts.push(h.subarray(0, need));
          this.queue[0] = h.subarray(need);
          need = 0;
        }
      }
      out = Buffer.concat(parts, size);
    }
    this.queuedBytes -= size;
    return out;
  }

  /** Marks selectively acked packets; resends those with three or more acked after them. */
  private onSack(ack: number, mask: Buffer, now: number): number {
    let bytes = 0;
    const sacked = sackedSeqs(ack, mask);
    let count = 0;
    for (const seq of sacked) {
      const out = this.inflight.get(seq);
      if (!out) continue;
      count++;
      if (!out.sacked) {
        out.sacked = true;
        this.inflightBytes -= out.size;
        bytes += out.size;
        if (out.transmissions === 1) this.rtt.sample(now - out.sentAt);
      }
    }
    if (count < 3) return bytes;
    // The third-highest acked packet: everything unacked before it is presumed lost.
    const threshold = sacked.filter((s) => this.inflight.has(s)).at(-3)!;
    let lost = false;
    for (const out of this.inflight.values()) {
      if (!seqLess(out.seq, threshold)) break;
      if (!out.sacked && !out.fastResent) {
        out.fastResent = true;
        out.needResend = true;
        lost = true;
      }
    }
    if (lost) this.ledbat.onLoss(now, this.rtt.rtt);
    return bytes;
  }
}
