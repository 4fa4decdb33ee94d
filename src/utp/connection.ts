/**
 * One uTP connection (BEP 29): the state machine, the send buffer with retransmission, the
 * bounded receive and reordering buffers, acks with selective acks, and LEDBAT. No sockets and
 * no timers: the owner injects the clock, a `send(datagram)` function and `requestFlush()`
 * (called when the connection has something to send; the owner calls `flush()` soon after, so
 * acks for a burst of packets go out as one), and calls `tick()` now and then for timeouts.
 * Two of these wired to each other in memory are a complete uTP link (see the tests).
 */
import createDebug from 'debug';
import { Ledbat } from './congestion.js';
import { UtpError } from './errors.js';
import {
  EXTENSION_SELECTIVE_ACK,
  HEADER_LENGTH,
  PACKET_TYPE_NAMES,
  PacketType,
  firstByte,
  sackedSeqs,
  selectiveAck,
  seqAdd,
  seqDistance,
  seqLess,
  type Extension,
  type Packet,
} from './packet.js';
import { RttEstimator } from './rtt.js';

const debug = createDebug('pytor:utp');
const trace = createDebug('pytor:utp:packet');

export type ConnectionState = 'syn-sent' | 'syn-recv' | 'connected' | 'closed';

/**
 * Payload bytes per packet: 1200 + 20 header + 8 UDP + 40 IPv6 = 1268 fits the IPv6 minimum
 * MTU (1280), so no path drops it for size and no MTU probing is needed. Loopback and LAN
 * users may raise it (`payloadSize`).
 */
export const DEFAULT_PAYLOAD_SIZE = 1200;
export const DEFAULT_RECV_BUFFER = 1024 * 1024;
export const DEFAULT_SEND_BUFFER = 1024 * 1024;
/** Out-of-order packets held at most (besides the byte bound). */
export const MAX_REORDER_PACKETS = 1024;
/** A selective ack covers at most this many bytes of bitmask (32 * 8 = 256 packets). */
export const MAX_SACK_BYTES = 32;
export const MAX_SYN_RESENDS = 3;
/** Timeouts in a row without an ack before the connection is declared dead. */
export const MAX_DATA_RESENDS = 7;
/** With nothing to send, an ST_STATE this often keeps NAT mappings open. */
export const KEEPALIVE_MS = 30_000;
/**
 * Nothing at all heard for this long: the other side is gone. Long, because an idle peer
 * only sends BitTorrent keep-alives (every ~2 minutes) and the peer layer has its own
 * inactivity rules; unanswered data is caught much sooner by the retransmission timeout.
 */
export const IDLE_TIMEOUT_MS = 10 * 60_000;

export interface ConnectionOptions {
  /** Connection id we receive on and the one we send with (BEP 29: they differ by one). */
  recvId: number;
  sendId: number;
  /** Our first sequence number. */
  seq: number;
  /** Milliseconds (may be fractional); monotonic. */
  now: () => number;
  /** Sends one datagram to the other side. */
  send: (datagram: Buffer) => void;
  /** The connection has something to send: call flush() soon (e.g. setImmediate). */
  requestFlush: (conn: Connection) => void;
  payloadSize?: number;
  recvBuffer?: number;
  sendBuffer?: number;
  /** Passed to LEDBAT (tests). */
  targetDelayUs?: number;
  /** Label for debug lines. */
  label?: string;
}

export interface ConnectionEvents {
  /** Outgoing: the SYN was answered. Incoming: the initiator's first packet after its SYN arrived. */
  onConnect?: () => void;
  /** Data (or the end) is waiting in `read()`. */
  onReadable?: () => void;
  /** The send buffer has room again. */
  onWritable?: () => void;
  /** Our FIN was acked: everything we wrote arrived. */
  onFinAcked?: () => void;
  /** Terminal; err is undefined for an orderly close. */
  onClose?: (err?: UtpError) => void;
}

interface OutPacket {
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

export interface ConnectionStats {
  readonly state: ConnectionState;
  readonly cwnd: number;
  readonly peerWindow: number;
  readonly inflightBytes: number;
  readonly sendQueueBytes: number;
  readonly inboxBytes: number;
  readonly reorderBytes: number;
  readonly reorderPackets: number;
  readonly rttMs: number;
  readonly retransmits: number;
  readonly losses: number;
  readonly timeouts: number;
  readonly packetsSent: number;
  readonly packetsReceived: number;
}

export class Connection {
  state: ConnectionState;
  readonly recvId: number;
  readonly sendId: number;
  events: ConnectionEvents = {};

  private readonly now: () => number;
  private readonly sendDatagram: (d: Buffer) => void;
  private readonly requestFlushFn: (conn: Connection) => void;
  readonly payloadSize: number;
  readonly recvBufferMax: number;
  readonly sendBufferMax: number;
  private readonly label: string;

  /** Next sequence number we will use for a DATA/FIN. */
  private seqNr: number;
  /** Last sequence number received in order. */
  private ackNr = 0;
  private peerWindow: number;
  readonly ledbat: Ledbat;
  readonly rtt = new RttEstimator();

  private readonly inflight = new Map<number, OutPacket>();
  private inflightBytes = 0;
  private readonly sendQueue: Buffer[] = [];
  private sendQueueBytes = 0;
  private endQueued = false;
  private finSentSeq: number | null = null;
  private finAcked = false;
  private finAckReported = false;
  /**
   * Set when we closed with a FIN (orderly, or destroy() with nothing unsent): the socket keeps
   * answering the other side's retransmissions for a while. `lingerAck` is our final ack after
   * an orderly close (everything up to their FIN received), null after destroy().
   */
  private lingerSeq: number | null = null;
  private lingerAck: number | null = null;

  private readonly inbox: Buffer[] = [];
  private inboxBytes = 0;
  private readonly reorder = new Map<number, Buffer>();
  private reorderBytes = 0;
  /** Sequence number of the other side's FIN, once seen. */
  private eofSeq: number | null = null;
  private eofReached = false;
  private eofRead = false;

  /** Our receive time minus their send time of the last packet (µs mod 2^32), echoed back. */
  private replyMicro = 0;
  private ackPending = false;
  private lastAdvertised: number;
  private dupAcks = 0;
  private lastAckSeen = -1;
  private rtoDeadline: number | null = null;
  /** Data waited for the window since the last flush (LEDBAT grows only then). */
  private windowLimited = false;
  private consecutiveTimeouts = 0;
  private readonly createdAt: number;
  private lastReceivedAt: number;
  private lastSentAt: number;
  private retransmits = 0;
  private packetsSent = 0;
  private packetsReceived = 0;

  private constructor(opts: ConnectionOptions, state: ConnectionState) {
    this.state = state;
    this.recvId = opts.recvId & 0xffff;
    this.sendId = opts.sendId & 0xffff;
    this.seqNr = opts.seq & 0xffff;
    this.now = opts.now;
    this.sendDatagram = opts.send;
    this.requestFlushFn = opts.requestFlush;
    this.payloadSize = opts.payloadSize ?? DEFAULT_PAYLOAD_SIZE;
    this.recvBufferMax = opts.recvBuffer ?? DEFAULT_RECV_BUFFER;
    this.sendBufferMax = opts.sendBuffer ?? DEFAULT_SEND_BUFFER;
    this.label = opts.label ?? `${this.recvId}`;
    this.ledbat = new Ledbat({ mss: this.payloadSize, maxWindow: this.sendBufferMax, targetDelayUs: opts.targetDelayUs });
    // Until the other side tells us its window, assume one packet.
    this.peerWindow = this.payloadSize;
    this.lastAdvertised = this.recvBufferMax;
    this.createdAt = this.lastReceivedAt = this.lastSentAt = opts.now();
  }

  /** An outgoing connection: sends the SYN at once. recvId is ours, sendId = recvId + 1. */
  static connect(opts: Omit<ConnectionOptions, 'sendId'>): Connection {
    const c = new Connection({ ...opts, sendId: (opts.recvId + 1) & 0xffff }, 'syn-sent');
    c.sendSyn();
    return c;
  }

  /**
   * An incoming connection from a SYN: answers with ST_STATE at once. It stays 'syn-recv'
   * (half-open) until the initiator sends a packet that acks our random sequence number.
   */
  static accept(syn: Packet, opts: Omit<ConnectionOptions, 'recvId' | 'sendId'>): Connection {
    const c = new Connection({ ...opts, recvId: (syn.connectionId + 1) & 0xffff, sendId: syn.connectionId }, 'syn-recv');
    c.ackNr = syn.seq;
    c.peerWindow = syn.windowSize;
    c.noteTimestamp(syn);
    c.sendState();
    return c;
  }

  get createdAtMs(): number {
    return this.createdAt;
  }

  // ---- the application side -------------------------------------------------------------

  /** Bytes queued or in flight; the stream holds further writes while this is at the bound. */
  get bufferedBytes(): number {
    return this.sendQueueBytes + this.inflightBytes;
  }

  get writableNow(): boolean {
    return this.bufferedBytes < this.sendBufferMax;
  }

  /** Queues bytes to send. The caller bounds how much it queues by `writableNow`. */
  write(data: Buffer): void {
    if (this.state === 'closed' || this.endQueued || data.length === 0) return;
    this.sendQueue.push(data);
    this.sendQueueBytes += data.length;
    this.requestFlushFn(this);
  }

  /** Sends FIN after everything queued. */
  end(): void {
    if (this.state === 'closed' || this.endQueued) return;
    this.endQueued = true;
    this.requestFlushFn(this);
  }

  /** The next received chunk, `null` at the end of the stream, `undefined` if nothing yet. */
  read(): Buffer | null | undefined {
    const chunk = this.inbox.shift();
    if (chunk) {
      this.inboxBytes -= chunk.length;
      // Tell the other side the window opened if it had (nearly) closed.
      const window = this.advertisedWindow();
      if (this.lastAdvertised < this.payloadSize && window >= this.payloadSize) {
        this.ackPending = true;
        this.requestFlushFn(this);
      }
      return chunk;
    }
    if (this.eofReached && !this.eofRead) {
      this.eofRead = true;
      // Close (if our FIN is acked too) from the next flush, not from inside the reader's
      // pump: the end of the stream must reach the reader before the close does.
      this.requestFlushFn(this);
      return null;
    }
    return undefined;
  }

  /**
   * Abrupt close from our side: a FIN if everything we sent was acked (the other side sees an
   * orderly end), else (or with `reset`) ST_RESET. Sent once: if it is lost, the other side
   * times out.
   */
  destroy(reset = false): void {
    if (this.state === 'closed') return;
    if (!reset && this.finAcked && this.eofReached) {
      // Both FINs are through (the stream destroys itself after its end): an orderly close,
      // with the ack of their FIN and the lingering that covers its loss.
      this.eofRead = true;
      this.maybeFinish();
      return;
    }
    if (this.state !== 'syn-sent') {
      if (!reset && this.inflight.size === 0 && this.sendQueueBytes === 0 && this.finSentSeq === null) {
        this.transmitControl(PacketType.FIN, this.seqNr);
        this.lingerSeq = seqAdd(this.seqNr, 1);
      } else if (!(this.finAcked && this.eofReached)) {
        this.transmitControl(PacketType.RESET, this.seqNr);
      }
    }
    this.close();
  }

  stats(): ConnectionStats {
    return {
      state: this.state,
      cwnd: Math.round(this.ledbat.cwnd),
      peerWindow: this.peerWindow,
      inflightBytes: this.inflightBytes,
      sendQueueBytes: this.sendQueueBytes,
      inboxBytes: this.inboxBytes,
      reorderBytes: this.reorderBytes,
      reorderPackets: this.reorder.size,
      rttMs: this.rtt.rtt,
      retransmits: this.retransmits,
      losses: this.ledbat.losses,
      timeouts: this.ledbat.timeouts,
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
    };
  }

  // ---- the network side ------------------------------------------------------------------

  /** A decoded packet addressed to this connection (the socket matched its connection id). */
  onPacket(p: Packet): void {
    if (this.state === 'closed') return;
    const now = this.now();
    if (trace.enabled) trace('%s: in %s seq %d ack %d wnd %d len %d (%s)', this.label, PACKET_TYPE_NAMES[p.type], p.seq, p.ack, p.windowSize, p.payload.length, this.state);
    this.packetsReceived++;
    this.lastReceivedAt = now;
    this.noteTimestamp(p);

    if (p.type === PacketType.RESET) {
      debug('%s: reset by peer in %s', this.label, this.state);
      this.close(this.eofReached && this.finAcked ? undefined : new UtpError('EUTP_RESET', { state: this.state }));
      return;
    }
    if (p.type === PacketType.SYN) {
      // Our ST_STATE was lost: the initiator resends its SYN. Answer again (same seq).
      if (this.state === 'syn-recv' && p.seq === this.ackNr) this.sendState();
      return;
    }
    if (this.state === 'syn-sent') {
      if (p.type !== PacketType.STATE || p.ack !== seqAdd(this.seqNr, -1)) return;
      // The ST_STATE answering our SYN carries the seq the other side will use next.
      this.ackNr = seqAdd(p.seq, -1);
      this.state = 'connected';
      this.peerWindow = p.windowSize;
      this.handleAck(p, now);
      debug('%s: connected', this.label);
      this.events.onConnect?.();
      // Ack their ST_STATE at once (unless data goes first): the other side holds us as
      // half-open until we prove we saw its random sequence number, and only then accepts.
      this.ackPending = true;
      this.flush();
      return;
    }
    if (this.state === 'syn-recv') {
      // The initiator must ack the sequence number we chose at random: a spoofed flood cannot.
      if (p.ack !== seqAdd(this.seqNr, -1)) return;
      this.state = 'connected';
      debug('%s: accepted', this.label);
      this.events.onConnect?.();
      if (this.state !== 'connected') return;
    }

    this.peerWindow = p.windowSize;
    this.handleAck(p, now);
    if (this.state !== 'connected') return;
    if (p.type === PacketType.DATA || p.type === PacketType.FIN) this.handleData(p);
    if (this.state === 'connected') this.requestFlushFn(this);
  }

  /** Timeouts, keep-alives and zero-window probes. Call every ~100 ms. */
  tick(): void {
    if (this.state === 'closed') return;
    const now = this.now();
    if (now - this.lastReceivedAt > IDLE_TIMEOUT_MS) {
      this.close(new UtpError('EUTP_TIMEOUT', { state: this.state, afterMs: now - this.lastReceivedAt }));
      return;
    }
    if (this.rtoDeadline !== null && now >= this.rtoDeadline) {
      this.onRetransmitTimeout(now);
      if ((this.state as ConnectionState) === 'closed') return;
    }
    if (this.state === 'connected' && now - this.lastSentAt > KEEPALIVE_MS) this.sendState();
    // Zero-window probe: with nothing in flight the other side's window opening would never be
    // announced (acks only come for data), so after a timeout one packet is sent regardless.
    if (
      this.state === 'connected' &&
      this.inflight.size === 0 &&
      this.sendQueueBytes > 0 &&
      this.peerWindow < Math.min(this.payloadSize, this.sendQueueBytes) &&
      now - this.lastSentAt >= this.rtt.timeout()
    ) {
      this.sendNewData(now, true);
    }
  }

  /** Sends what the windows allow, retransmissions first, and a pending ack. */
  flush(): void {
    if (this.state !== 'connected') return;
    this.maybeFinish();
    if (this.state !== 'connected') return;
    const now = this.now();
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
    if (this.sendQueueBytes === 0) this.windowLimited = false; // application-limited
    if (this.endQueued && this.finSentSeq === null && this.sendQueueBytes === 0) {
      const fin = this.makeOutPacket(PacketType.FIN, Buffer.alloc(0));
      this.finSentSeq = fin.seq;
      this.transmit(fin, now);
      sent = true;
    }
    // A selective ack travels only on ST_STATE (data packets are encoded once and resent).
    if ((this.ackPending && !sent) || (this.ackPending && this.reorder.size > 0)) this.sendState();
    this.ackPending = false;
  }

  // ---- internals ------------------------------------------------------------------------

  private nowMicros(now: number): number {
    return Math.floor(now * 1000) >>> 0;
  }

  private noteTimestamp(p: Packet): void {
    this.replyMicro = p.timestamp === 0 ? 0 : (this.nowMicros(this.now()) - p.timestamp) >>> 0;
  }

  private advertisedWindow(): number {
    return Math.max(0, this.recvBufferMax - this.inboxBytes - this.reorderBytes);
  }

  private sendSyn(): void {
    const syn = this.makeOutPacket(PacketType.SYN, Buffer.alloc(0));
    this.transmit(syn, this.now());
  }

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

  private stampHeader(d: Buffer, now: number): void {
    const window = this.advertisedWindow();
    this.lastAdvertised = window;
    d.writeUInt32BE(this.nowMicros(now), 4);
    d.writeUInt32BE(this.replyMicro, 8);
    d.writeUInt32BE(window, 12);
    d.writeUInt16BE(this.ackNr, 18);
  }

  private transmit(p: OutPacket, now: number): void {
    if (p.transmissions > 0) this.retransmits++;
    p.transmissions++;
    p.sentAt = now;
    p.needResend = false;
    this.stampHeader(p.datagram, now);
    this.output(p.datagram, now);
    if (this.rtoDeadline === null) this.rtoDeadline = now + this.rtt.timeout();
  }

  private output(d: Buffer, now: number): void {
    if (trace.enabled) trace('%s: out %s seq %d ack %d len %d', this.label, PACKET_TYPE_NAMES[d[0]! >> 4], d.readUInt16BE(16), d.readUInt16BE(18), d.length - HEADER_LENGTH);
    this.packetsSent++;
    this.lastSentAt = now;
    this.ackPending = false;
    this.sendDatagram(d);
  }

  /** One new DATA packet if the windows allow (or `force`, for a zero-window probe). */
  private sendNewData(now: number, force: boolean): boolean {
    if (this.sendQueueBytes === 0) return false;
    const size = Math.min(this.payloadSize, this.sendQueueBytes);
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

  private takeFromQueue(size: number): Buffer {
    const head = this.sendQueue[0]!;
    let out: Buffer;
    if (head.length >= size) {
      out = head.subarray(0, size);
      if (head.length === size) this.sendQueue.shift();
      else this.sendQueue[0] = head.subarray(size);
    } else {
      const parts: Buffer[] = [];
      let need = size;
      while (need > 0) {
        const h = this.sendQueue[0]!;
        if (h.length <= need) {
          parts.push(h);
          this.sendQueue.shift();
          need -= h.length;
        } else {
          parts.push(h.subarray(0, need));
          this.sendQueue[0] = h.subarray(need);
          need = 0;
        }
      }
      out = Buffer.concat(parts, size);
    }
    this.sendQueueBytes -= size;
    return out;
  }

  /** ST_STATE (pure ack, with a selective ack when packets are waiting out of order). */
  private sendState(): void {
    const now = this.now();
    const extensions: Extension[] = [];
    const mask = this.buildSack();
    if (mask) extensions.push({ type: EXTENSION_SELECTIVE_ACK, data: mask });
    const len = HEADER_LENGTH + (mask ? 2 + mask.length : 0);
    const d = Buffer.alloc(len);
    d[0] = firstByte(PacketType.STATE);
    d[1] = mask ? EXTENSION_SELECTIVE_ACK : 0;
    d.writeUInt16BE(this.sendId, 2);
    d.writeUInt16BE(this.seqNr, 16);
    if (mask) {
      d[HEADER_LENGTH] = 0;
      d[HEADER_LENGTH + 1] = mask.length;
      mask.copy(d, HEADER_LENGTH + 2);
    }
    this.stampHeader(d, now);
    this.output(d, now);
  }

  private transmitControl(type: PacketType, seq: number): void {
    const now = this.now();
    const d = Buffer.alloc(HEADER_LENGTH);
    d[0] = firstByte(type);
    d.writeUInt16BE(this.sendId, 2);
    d.writeUInt16BE(seq, 16);
    this.stampHeader(d, now);
    this.output(d, now);
  }

  private buildSack(): Buffer | null {
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

  private handleAck(p: Packet, now: number): void {
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
      if (mask && this.inflight.size > 0) bytesAcked += this.handleSack(ack, mask, now);
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
    if (this.finAcked && !this.finAckReported) {
      this.finAckReported = true;
      this.events.onFinAcked?.();
    }
    if (advanced || bytesAcked > 0) {
      if (this.writableNow) this.events.onWritable?.();
      this.maybeFinish();
    }
  }

  /** Marks selectively acked packets; resends those with three or more acked after them. */
  private handleSack(ack: number, mask: Buffer, now: number): number {
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

  private handleData(p: Packet): void {
    const seq = p.seq;
    this.ackPending = true;
    if (p.type === PacketType.FIN) {
      if (this.eofSeq === null) this.eofSeq = seq;
      else if (seq !== this.eofSeq) return;
    } else if (this.eofSeq !== null && !seqLess(seq, this.eofSeq)) {
      return; // data after the FIN
    }
    const next = seqAdd(this.ackNr, 1);
    if (seq === next) {
      if (!this.accept(p.payload)) return;
      this.ackNr = seq;
      if (seq === this.eofSeq) this.eofReached = true;
      // Move what was waiting in order into the inbox.
      for (;;) {
        const n = seqAdd(this.ackNr, 1);
        const buf = this.reorder.get(n);
        if (buf === undefined) break;
        this.reorder.delete(n);
        this.reorderBytes -= buf.length;
        this.pushInbox(buf);
        this.ackNr = n;
        if (n === this.eofSeq) this.eofReached = true;
      }
      this.events.onReadable?.();
    } else if (seqLess(next, seq)) {
      // Ahead of a gap: keep it, within the window and the packet bound.
      const distance = seqDistance(next, seq);
      if (distance >= MAX_REORDER_PACKETS || this.reorder.has(seq)) return;
      if (this.reorder.size >= MAX_REORDER_PACKETS) return;
      if (this.inboxBytes + this.reorderBytes + p.payload.length > this.recvBufferMax) return;
      this.reorder.set(seq, p.payload);
      this.reorderBytes += p.payload.length;
    }
    // else: a duplicate of something already received; the ack repairs the other side.
  }

  /** Takes an in-order payload if the receive buffer has room; else it is dropped (not acked). */
  private accept(payload: Buffer): boolean {
    if (payload.length > 0 && this.inboxBytes + this.reorderBytes + payload.length > this.recvBufferMax) {
      this.ackPending = true;
      return false;
    }
    this.pushInbox(payload);
    return true;
  }

  private pushInbox(buf: Buffer): void {
    if (buf.length === 0) return;
    this.inbox.push(buf);
    this.inboxBytes += buf.length;
  }

  private onRetransmitTimeout(now: number): void {
    this.rtoDeadline = null;
    if (this.inflight.size === 0) return;
    this.consecutiveTimeouts++;
    const limit = this.state === 'syn-sent' ? MAX_SYN_RESENDS : MAX_DATA_RESENDS;
    if (this.consecutiveTimeouts > limit) {
      debug('%s: timed out in %s', this.label, this.state);
      this.close(new UtpError('EUTP_TIMEOUT', { state: this.state, afterMs: now - this.lastReceivedAt }));
      return;
    }
    this.rtt.onTimeout();
    if (this.state === 'syn-sent') {
      const syn = this.inflight.values().next().value!;
      this.transmit(syn, now);
      return;
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
  }

  /** Orderly close once our FIN is acked and the other side's FIN was read. */
  private maybeFinish(): void {
    if (this.state === 'connected' && this.finAcked && this.eofReached && this.eofRead) {
      if (this.ackPending) this.sendState(); // the ack of their FIN
      // That ack may be lost: the socket re-acks their retransmissions for a while.
      this.lingerSeq = this.seqNr;
      this.lingerAck = this.ackNr;
      this.close();
    }
  }

  private close(err?: UtpError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.inflight.clear();
    this.inflightBytes = 0;
    this.sendQueue.length = 0;
    this.sendQueueBytes = 0;
    this.reorder.clear();
    this.reorderBytes = 0;
    this.rtoDeadline = null;
    this.events.onClose?.(err);
  }

  /**
   * After we closed with a FIN: what the socket needs to answer the other side's
   * retransmissions for a short while (TCP's TIME_WAIT in small), so that side closes at once
   * instead of timing out when our last ack was lost.
   */
  get linger(): { sendId: number; seq: number; ack: number | null } | null {
    return this.lingerSeq === null ? null : { sendId: this.sendId, seq: this.lingerSeq, ack: this.lingerAck };
  }

  /** For the socket: the connection is done (closed) and can be forgotten. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Half-open: an incoming connection not yet confirmed by the initiator. */
  get halfOpen(): boolean {
    return this.state === 'syn-recv' || this.state === 'syn-sent';
  }
}
