/**
 * One uTP connection (BEP 29): the state machine that ties the send side (send-buffer.ts:
 * retransmission, acks, LEDBAT) to the receive side (receive-buffer.ts: the bounded receive
 * and reordering buffers, selective acks). No sockets and no timers: the owner injects the
 * clock, a `send(datagram)` function and `requestFlush()` (called when the connection has
 * something to send; the owner calls `flush()` soon after, so acks for a burst of packets go
 * out as one), and calls `tick()` now and then for timeouts.
 * Two of these wired to each other in memory are a complete uTP link (see the tests).
 */
import createDebug from 'debug';
import type { Ledbat } from './congestion.js';
import { UtpError } from './errors.js';
import { HEADER_LENGTH, PACKET_TYPE_NAMES, PacketType, seqAdd, type Packet } from './packet.js';
import { ReceiveBuffer } from './receive-buffer.js';
import type { RttEstimator } from './rtt.js';
import { SendBuffer, controlDatagram } from './send-buffer.js';

export { MAX_REORDER_PACKETS, MAX_SACK_BYTES } from './receive-buffer.js';
export { MAX_DATA_RESENDS, MAX_SYN_RESENDS } from './send-buffer.js';

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

  private readonly out: SendBuffer;
  private readonly in: ReceiveBuffer;
  readonly ledbat: Ledbat;
  readonly rtt: RttEstimator;

  private finAckReported = false;
  /**
   * Set when we closed with a FIN (orderly, or destroy() with nothing unsent): the socket keeps
   * answering the other side's retransmissions for a while. `lingerAck` is our final ack after
   * an orderly close (everything up to their FIN received), null after destroy().
   */
  private lingerSeq: number | null = null;
  private lingerAck: number | null = null;

  /** Our receive time minus their send time of the last packet (µs mod 2^32), echoed back. */
  private replyMicro = 0;
  private ackPending = false;
  private lastAdvertised: number;
  private readonly createdAt: number;
  private lastReceivedAt: number;
  private lastSentAt: number;
  private packetsSent = 0;
  private packetsReceived = 0;

  private constructor(opts: ConnectionOptions, state: ConnectionState) {
    this.state = state;
    this.recvId = opts.recvId & 0xffff;
    this.sendId = opts.sendId & 0xffff;
    this.now = opts.now;
    this.sendDatagram = opts.send;
    this.requestFlushFn = opts.requestFlush;
    this.payloadSize = opts.payloadSize ?? DEFAULT_PAYLOAD_SIZE;
    this.recvBufferMax = opts.recvBuffer ?? DEFAULT_RECV_BUFFER;
    this.sendBufferMax = opts.sendBuffer ?? DEFAULT_SEND_BUFFER;
    this.label = opts.label ?? `${this.recvId}`;
    this.out = new SendBuffer({
      recvId: this.recvId,
      sendId: this.sendId,
      seq: opts.seq & 0xffff,
      payloadSize: this.payloadSize,
      sendBufferMax: this.sendBufferMax,
      targetDelayUs: opts.targetDelayUs,
      emit: (d, now) => {
        this.stampHeader(d, now);
        this.output(d, now);
      },
    });
    this.in = new ReceiveBuffer(this.recvBufferMax);
    this.ledbat = this.out.ledbat;
    this.rtt = this.out.rtt;
    this.lastAdvertised = this.recvBufferMax;
    this.createdAt = this.lastReceivedAt = this.lastSentAt = opts.now();
  }

  /** An outgoing connection: sends the SYN at once. recvId is ours, sendId = recvId + 1. */
  static connect(opts: Omit<ConnectionOptions, 'sendId'>): Connection {
    const c = new Connection({ ...opts, sendId: (opts.recvId + 1) & 0xffff }, 'syn-sent');
    c.out.sendSyn(c.now());
    return c;
  }

  /**
   * An incoming connection from a SYN: answers with ST_STATE at once. It stays 'syn-recv'
   * (half-open) until the initiator sends a packet that acks our random sequence number.
   */
  static accept(syn: Packet, opts: Omit<ConnectionOptions, 'recvId' | 'sendId'>): Connection {
    const c = new Connection({ ...opts, recvId: (syn.connectionId + 1) & 0xffff, sendId: syn.connectionId }, 'syn-recv');
    c.in.ackNr = syn.seq;
    c.out.peerWindow = syn.windowSize;
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
    return this.out.bufferedBytes;
  }

  get writableNow(): boolean {
    return this.bufferedBytes < this.sendBufferMax;
  }

  /** Queues bytes to send. The caller bounds how much it queues by `writableNow`. */
  write(data: Buffer): void {
    if (this.state === 'closed' || this.out.endQueued || data.length === 0) return;
    this.out.push(data);
    this.requestFlushFn(this);
  }

  /** Sends FIN after everything queued. */
  end(): void {
    if (this.state === 'closed' || this.out.endQueued) return;
    this.out.endQueued = true;
    this.requestFlushFn(this);
  }

  /** The next received chunk, `null` at the end of the stream, `undefined` if nothing yet. */
  read(): Buffer | null | undefined {
    const chunk = this.in.shift();
    if (chunk) {
      // Tell the other side the window opened if it had (nearly) closed.
      const window = this.in.window;
      if (this.lastAdvertised < this.payloadSize && window >= this.payloadSize) {
        this.ackPending = true;
        this.requestFlushFn(this);
      }
      return chunk;
    }
    if (this.in.eofReached && !this.in.eofRead) {
      this.in.eofRead = true;
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
    if (!reset && this.out.finAcked && this.in.eofReached) {
      // Both FINs are through (the stream destroys itself after its end): an orderly close,
      // with the ack of their FIN and the lingering that covers its loss.
      this.in.eofRead = true;
      this.maybeFinish();
      return;
    }
    if (this.state !== 'syn-sent') {
      if (!reset && this.out.inflight.size === 0 && this.out.queuedBytes === 0 && this.out.finSentSeq === null) {
        this.transmitControl(PacketType.FIN, this.out.seqNr);
        this.lingerSeq = seqAdd(this.out.seqNr, 1);
      } else if (!(this.out.finAcked && this.in.eofReached)) {
        this.transmitControl(PacketType.RESET, this.out.seqNr);
      }
    }
    this.close();
  }

  stats(): ConnectionStats {
    return {
      state: this.state,
      cwnd: Math.round(this.ledbat.cwnd),
      peerWindow: this.out.peerWindow,
      inflightBytes: this.out.inflightBytes,
      sendQueueBytes: this.out.queuedBytes,
      inboxBytes: this.in.inboxBytes,
      reorderBytes: this.in.reorderBytes,
      reorderPackets: this.in.reorderPackets,
      rttMs: this.rtt.rtt,
      retransmits: this.out.retransmits,
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
      this.close(this.in.eofReached && this.out.finAcked ? undefined : new UtpError('EUTP_RESET', { state: this.state }));
      return;
    }
    if (p.type === PacketType.SYN) {
      // Our ST_STATE was lost: the initiator resends its SYN. Answer again (same seq).
      if (this.state === 'syn-recv' && p.seq === this.in.ackNr) this.sendState();
      return;
    }
    if (this.state === 'syn-sent') {
      if (p.type !== PacketType.STATE || p.ack !== seqAdd(this.out.seqNr, -1)) return;
      // The ST_STATE answering our SYN carries the seq the other side will use next.
      this.in.ackNr = seqAdd(p.seq, -1);
      this.state = 'connected';
      this.out.peerWindow = p.windowSize;
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
      if (p.ack !== seqAdd(this.out.seqNr, -1)) return;
      this.state = 'connected';
      debug('%s: accepted', this.label);
      this.events.onConnect?.();
      if (this.state !== 'connected') return;
    }

    this.out.peerWindow = p.windowSize;
    this.handleAck(p, now);
    if (this.state !== 'connected') return;
    if (p.type === PacketType.DATA || p.type === PacketType.FIN) {
      this.ackPending = true;
      if (this.in.receive(p)) this.events.onReadable?.();
    }
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
    if (this.out.rtoDeadline !== null && now >= this.out.rtoDeadline) {
      if (this.out.onRetransmitTimeout(now, this.state === 'syn-sent') === 'dead') {
        debug('%s: timed out in %s', this.label, this.state);
        this.close(new UtpError('EUTP_TIMEOUT', { state: this.state, afterMs: now - this.lastReceivedAt }));
      }
      if ((this.state as ConnectionState) === 'closed') return;
    }
    if (this.state === 'connected' && now - this.lastSentAt > KEEPALIVE_MS) this.sendState();
    // Zero-window probe: with nothing in flight the other side's window opening would never be
    // announced (acks only come for data), so after a timeout one packet is sent regardless.
    if (this.state === 'connected' && this.out.windowProbeDue && now - this.lastSentAt >= this.rtt.timeout()) {
      this.out.sendNewData(now, true);
    }
  }

  /** Sends what the windows allow, retransmissions first, and a pending ack. */
  flush(): void {
    if (this.state !== 'connected') return;
    this.maybeFinish();
    if (this.state !== 'connected') return;
    const sent = this.out.flush(this.now());
    // A selective ack travels only on ST_STATE (data packets are encoded once and resent).
    if ((this.ackPending && !sent) || (this.ackPending && this.in.reorderPackets > 0)) this.sendState();
    this.ackPending = false;
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

  // ---- internals ------------------------------------------------------------------------

  private nowMicros(now: number): number {
    return Math.floor(now * 1000) >>> 0;
  }

  private noteTimestamp(p: Packet): void {
    this.replyMicro = p.timestamp === 0 ? 0 : (this.nowMicros(this.now()) - p.timestamp) >>> 0;
  }

  /** Fills in what changes on every transmission: timestamps, our window and our ack. */
  private stampHeader(d: Buffer, now: number): void {
    const window = this.in.window;
    this.lastAdvertised = window;
    d.writeUInt32BE(this.nowMicros(now), 4);
    d.writeUInt32BE(this.replyMicro, 8);
    d.writeUInt32BE(window, 12);
    d.writeUInt16BE(this.in.ackNr, 18);
  }

  private output(d: Buffer, now: number): void {
    if (trace.enabled) trace('%s: out %s seq %d ack %d len %d', this.label, PACKET_TYPE_NAMES[d[0]! >> 4], d.readUInt16BE(16), d.readUInt16BE(18), d.length - HEADER_LENGTH);
    this.packetsSent++;
    this.lastSentAt = now;
    this.ackPending = false;
    this.sendDatagram(d);
  }

  /** ST_STATE (pure ack, with a selective ack when packets are waiting out of order). */
  private sendState(): void {
    this.transmitControl(PacketType.STATE, this.out.seqNr, this.in.sack());
  }

  private transmitControl(type: PacketType, seq: number, sack: Buffer | null = null): void {
    const now = this.now();
    const d = controlDatagram(type, this.sendId, seq, sack);
    this.stampHeader(d, now);
    this.output(d, now);
  }

  private handleAck(p: Packet, now: number): void {
    const progressed = this.out.onAck(p, now);
    if (this.out.finAcked && !this.finAckReported) {
      this.finAckReported = true;
      this.events.onFinAcked?.();
    }
    if (progressed) {
      if (this.writableNow) this.events.onWritable?.();
      this.maybeFinish();
    }
  }

  /** Orderly close once our FIN is acked and the other side's FIN was read. */
  private maybeFinish(): void {
    if (this.state === 'connected' && this.out.finAcked && this.in.eofReached && this.in.eofRead) {
      if (this.ackPending) this.sendState(); // the ack of their FIN
      // That ack may be lost: the socket re-acks their retransmissions for a while.
      this.lingerSeq = this.out.seqNr;
      this.lingerAck = this.in.ackNr;
      this.close();
    }
  }

  private close(err?: UtpError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.out.clear();
    this.in.clearReorder();
    this.events.onClose?.(err);
  }
}
