/**
 * One UDP socket per port for uTP and the DHT. Datagrams are told apart by their first byte,
 * as libtorrent does: a KRPC message is a bencoded dictionary and starts with 'd' (0x64); a
 * uTP packet starts with (type << 4 | 1). KRPC goes to `onOtherDatagram` (the DHT registers
 * there and sends through `send`), uTP to its connection by (address, port, connection id).
 *
 * Bounds: total connections, half-open connections (incoming ones are half-open until the
 * initiator acks our random sequence number, so a spoofed SYN flood only ever holds
 * `maxHalfOpen` tiny entries, the oldest evicted first), and each connection's buffers.
 * Packets for unknown connections are dropped unanswered (no reflection). One timer per socket drives every connection's timeouts; flushes are
 * batched with one setImmediate, so a burst of received packets is acked once.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import createDebug from 'debug';
import { Connection, DEFAULT_PAYLOAD_SIZE, DEFAULT_RECV_BUFFER, DEFAULT_SEND_BUFFER, type ConnectionOptions } from './connection.js';
import { UtpError } from './errors.js';
import { PacketType, decodePacket, encodePacket, looksLikeUtp, type Packet } from './packet.js';
import { UtpStream } from './stream.js';

const debug = createDebug('pytor:utp');

/** First byte of a KRPC (DHT) datagram: a bencoded dictionary. */
export const KRPC_FIRST_BYTE = 0x64;

export interface UtpSocketOptions {
  /** Payload bytes per packet (default 1200: fits every IPv6 path; see connection.ts). */
  payloadSize?: number;
  /** Per connection: received bytes held (in order and out of order) before the window closes. */
  recvBuffer?: number;
  /** Per connection: bytes queued and in flight before writes wait. */
  sendBuffer?: number;
  maxConnections?: number;
  maxHalfOpen?: number;
  /** An incoming connection not confirmed within this is forgotten. */
  halfOpenTimeoutMs?: number;
  tickMs?: number;
  /** LEDBAT's target queueing delay in µs (default 100 ms, RFC 6817's maximum). */
  targetDelayUs?: number;
  /** Milliseconds, monotonic (tests). */
  now?: () => number;
}

export interface DatagramSender {
  send(buf: Uint8Array, port: number, address: string): void;
}

export interface SocketStats {
  readonly connections: number;
  readonly halfOpen: number;
  readonly dropped: number;
  readonly otherDatagrams: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_MAX_HALF_OPEN = 64;
/** Closed connections whose peer's FIN we still ack, and for how long. */
const MAX_LINGERING = 256;
const LINGER_MS = 10_000;

interface Entry {
  readonly conn: Connection;
  readonly address: string;
  readonly port: number;
  readonly incoming: boolean;
  stream: UtpStream | null;
}

export class UtpSocket extends EventEmitter implements DatagramSender {
  readonly udp: dgram.Socket;
  /** Datagrams that are not uTP and start with 'd' (KRPC): the DHT's entry point. */
  onOtherDatagram: ((buf: Buffer, rinfo: { address: string; port: number }) => void) | null = null;

  private readonly owned: boolean;
  private readonly opts: Required<Omit<UtpSocketOptions, 'now' | 'targetDelayUs'>> & { targetDelayUs?: number };
  private readonly now: () => number;
  private readonly conns = new Map<string, Entry>();
  private readonly dirty = new Set<Connection>();
  private readonly lingering = new Map<string, { sendId: number; seq: number; ack: number | null; until: number }>();
  private flushScheduled: NodeJS.Immediate | null = null;
  private readonly timer: NodeJS.Timeout;
  private dropped = 0;
  private otherDatagrams = 0;
  private closed = false;
  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo) => this.handleDatagram(msg, rinfo);
  private readonly onUdpError = (err: Error) => debug('udp socket error: %s', err.message);

  constructor(udp: dgram.Socket, owned: boolean, opts: UtpSocketOptions = {}) {
    super();
    this.udp = udp;
    this.owned = owned;
    this.now = opts.now ?? (() => performance.now());
    this.opts = {
      payloadSize: opts.payloadSize ?? DEFAULT_PAYLOAD_SIZE,
      recvBuffer: opts.recvBuffer ?? DEFAULT_RECV_BUFFER,
      sendBuffer: opts.sendBuffer ?? DEFAULT_SEND_BUFFER,
      maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxHalfOpen: opts.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN,
      halfOpenTimeoutMs: opts.halfOpenTimeoutMs ?? 10_000,
      tickMs: opts.tickMs ?? 100,
      targetDelayUs: opts.targetDelayUs,
    };
    checkOptions(this.opts);
    udp.on('message', this.onMessage);
    udp.on('error', this.onUdpError);
    this.timer = setInterval(() => this.tick(), this.opts.tickMs);
    this.timer.unref();
  }

  /** Binds a new UDP socket (udp4, or udp6 for an IPv6 host) on port (0 = any). */
  static override bind(port: number, host = '0.0.0.0', opts: UtpSocketOptions = {}): Promise<UtpSocket> {
    try {
      checkOptions(opts);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const udp = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        udp.close();
        reject(err);
      };
      udp.once('error', onError);
      udp.bind(port, host, () => {
        udp.off('error', onError);
        // Bigger kernel buffers absorb bursts (the kernel caps them at rmem_max/wmem_max).
        try {
          udp.setRecvBufferSize(4 * 1024 * 1024);
          udp.setSendBufferSize(4 * 1024 * 1024);
        } catch {
          // keep the defaults
        }
        resolve(new UtpSocket(udp, true, opts));
      });
    });
  }

  /**
   * uTP on a UDP socket someone else bound and owns (close() then leaves it open and only
   * stops listening on it).
   */
  static wrap(udp: dgram.Socket, opts: UtpSocketOptions = {}): UtpSocket {
    return new UtpSocket(udp, false, opts);
  }

  get port(): number {
    return this.udp.address().port;
  }

  /** Sends a raw datagram on the shared socket (for the DHT). */
  send(buf: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    this.udp.send(buf, port, address);
  }

  stats(): SocketStats {
    let halfOpen = 0;
    for (const e of this.conns.values()) if (e.conn.halfOpen) halfOpen++;
    return { connections: this.conns.size, halfOpen, dropped: this.dropped, otherDatagrams: this.otherDatagrams };
  }

  /** Opens a uTP connection; resolves with its stream once the SYN is answered. */
  connect(remote: { host: string; port: number }, timeoutMs = 10_000): Promise<UtpStream> {
    return new Promise<UtpStream>((resolve, reject) => {
      if (this.closed) {
        reject(new UtpError('EUTP_CLOSED', { reason: 'socket closed' }));
        return;
      }
      if (this.conns.size >= this.opts.maxConnections) {
        reject(new UtpError('EUTP_LIMIT', { limit: 'connections', max: this.opts.maxConnections }));
        return;
      }
      let outgoingHalfOpen = 0;
      for (const e of this.conns.values()) if (!e.incoming && e.conn.halfOpen) outgoingHalfOpen++;
      if (outgoingHalfOpen >= this.opts.maxHalfOpen) {
        reject(new UtpError('EUTP_LIMIT', { limit: 'half-open connections', max: this.opts.maxHalfOpen }));
        return;
      }
      const address = remote.host;
      const port = remote.port;
      let recvId = -1;
      for (let i = 0; i < 16 && recvId < 0; i++) {
        const id = randomInt(0, 0x10000);
        if (!this.conns.has(key(address, port, id)) && !this.conns.has(key(address, port, (id + 1) & 0xffff))) recvId = id;
      }
      if (recvId < 0) {
        reject(new UtpError('EUTP_LIMIT', { limit: 'connection ids to one peer', max: 0x10000 }));
        return;
      }
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        conn.destroy();
        reject(new UtpError('EUTP_TIMEOUT', { state: 'syn-sent', afterMs: timeoutMs }));
      }, timeoutMs);
      timer.unref();
      const conn = Connection.connect({ ...this.connOptions(address, port), recvId, seq: randomInt(0, 0x10000) });
      const entry: Entry = { conn, address, port, incoming: false, stream: null };
      conn.events.onConnect = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        entry.stream = this.makeStream(entry);
        resolve(entry.stream);
      };
      conn.events.onClose = (err) => {
        this.forget(entry);
        entry.stream?.handleClose(err);
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(err ?? new UtpError('EUTP_CLOSED', { reason: 'closed before connected' }));
        }
      };
      this.conns.set(key(address, port, conn.recvId), entry);
    });
  }

  /** Closes every connection (RESET, no waiting), the timer and an owned UDP socket. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Connections first, while sending still works: each peer gets a RESET (nobody will be
    // left here to ack its FIN), and each stream closes.
    for (const e of [...this.conns.values()]) {
      e.conn.destroy(true);
      e.stream?.destroy();
    }
    this.closed = true;
    clearInterval(this.timer);
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    this.conns.clear();
    this.dirty.clear();
    this.lingering.clear();
    this.udp.off('message', this.onMessage);
    if (!this.owned) {
      this.udp.off('error', this.onUdpError);
      return Promise.resolve();
    }
    // dgram resolves the address of a send asynchronously even for an IP literal: closing in
    // the same tick would drop the RESETs just queued.
    return new Promise((resolve) => setImmediate(() => this.udp.close(() => resolve())));
  }

  /** Entry point of every datagram (public so a test or a shared socket can feed it). */
  handleDatagram(msg: Buffer, rinfo: { address: string; port: number }): void {
    if (this.closed || msg.length === 0) return;
    const b0 = msg[0]!;
    if (b0 === KRPC_FIRST_BYTE) {
      this.otherDatagrams++;
      if (!this.onOtherDatagram) return;
      try {
        this.onOtherDatagram(msg, rinfo);
      } catch (err) {
        debug('handler for other datagrams threw: %s', (err as Error).message);
      }
      return;
    }
    if (!looksLikeUtp(b0)) {
      this.dropped++;
      return;
    }
    const r = decodePacket(msg);
    if (r.kind === 'error') {
      this.dropped++;
      debug('dropped datagram from %s:%d: %s', rinfo.address, rinfo.port, r.err.message);
      return;
    }
    const p = r.packet;
    if (p.type === PacketType.SYN) {
      this.handleSyn(p, rinfo.address, rinfo.port);
      return;
    }
    const entry = this.conns.get(key(rinfo.address, rinfo.port, p.connectionId));
    if (entry) {
      entry.conn.onPacket(p);
      return;
    }
    const k = key(rinfo.address, rinfo.port, p.connectionId);
    const l = this.lingering.get(k);
    if (l && (p.type === PacketType.FIN || p.type === PacketType.DATA)) {
      if (l.ack !== null) {
        // Closed in order: they resend because our last ack was lost. Ack again.
        this.sendBare(PacketType.STATE, l.sendId, l.seq, l.ack, rinfo);
      } else {
        // We destroyed it with a FIN: ack their FIN so they close now; data is refused.
        this.sendBare(p.type === PacketType.FIN ? PacketType.STATE : PacketType.RESET, l.sendId, l.seq, p.seq, rinfo);
      }
      return;
    }
    // Unknown connection: dropped without an answer. A RESET would have to guess the other
    // side's receive id (ours differs by one either way), and libtorrent does not answer either:
    // the other side times out.
    this.dropped++;
  }

  private handleSyn(p: Packet, address: string, port: number): void {
    const existing = this.conns.get(key(address, port, (p.connectionId + 1) & 0xffff));
    if (existing) {
      existing.conn.onPacket(p); // a resent SYN: answered again by the connection
      return;
    }
    // Nobody to hand an incoming stream to (no 'connection' listener): refuse, so no stream
    // ever exists without an owner to handle its errors.
    if (this.conns.size >= this.opts.maxConnections || this.listenerCount('connection') === 0) {
      this.dropped++;
      return;
    }
    let oldest: Entry | null = null;
    let halfOpen = 0;
    for (const e of this.conns.values()) {
      if (!e.incoming || !e.conn.halfOpen) continue;
      halfOpen++;
      if (!oldest || e.conn.createdAtMs < oldest.conn.createdAtMs) oldest = e;
    }
    if (halfOpen >= this.opts.maxHalfOpen && oldest) {
      // A flood: forget the oldest unconfirmed one, so a real peer still has a chance.
      oldest.conn.destroy();
      this.forget(oldest);
    }
    const conn = Connection.accept(p, { ...this.connOptions(address, port), seq: randomInt(0, 0x10000) });
    const entry: Entry = { conn, address, port, incoming: true, stream: null };
    conn.events.onConnect = () => {
      entry.stream = this.makeStream(entry);
      this.emit('connection', entry.stream);
    };
    conn.events.onClose = (err) => {
      this.forget(entry);
      entry.stream?.handleClose(err);
    };
    this.conns.set(key(address, port, conn.recvId), entry);
  }

  private connOptions(address: string, port: number): Omit<ConnectionOptions, 'recvId' | 'sendId' | 'seq'> {
    return {
      now: this.now,
      send: (d) => this.send(d, port, address),
      requestFlush: (conn) => this.scheduleFlush(conn),
      payloadSize: this.opts.payloadSize,
      recvBuffer: this.opts.recvBuffer,
      sendBuffer: this.opts.sendBuffer,
      targetDelayUs: this.opts.targetDelayUs,
      label: `${address}:${port}`,
    };
  }

  private scheduleFlush(conn: Connection): void {
    if (this.closed) return;
    this.dirty.add(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = null;
      const list = [...this.dirty];
      this.dirty.clear();
      for (const c of list) c.flush();
    });
  }

  private makeStream(entry: Entry): UtpStream {
    const s = new UtpStream(entry.conn, { address: entry.address, port: entry.port });
    const local = this.udp.address();
    s.localAddress = local.address;
    s.localPort = local.port;
    return s;
  }

  private forget(entry: Entry): void {
    const k = key(entry.address, entry.port, entry.conn.recvId);
    if (this.conns.get(k) === entry) this.conns.delete(k);
    this.dirty.delete(entry.conn);
    const l = entry.conn.linger;
    if (l && !this.closed) {
      if (this.lingering.size >= MAX_LINGERING) this.lingering.delete(this.lingering.keys().next().value!);
      this.lingering.set(k, { ...l, until: this.now() + LINGER_MS });
    }
  }

  private sendBare(type: PacketType, connectionId: number, seq: number, ack: number, to: { address: string; port: number }): void {
    const d = encodePacket({
      type,
      connectionId,
      timestamp: Math.floor(this.now() * 1000) >>> 0,
      timestampDiff: 0,
      windowSize: 0,
      seq,
      ack,
      extensions: [],
      payload: Buffer.alloc(0),
    });
    this.send(d, to.port, to.address);
  }

  private tick(): void {
    const now = this.now();
    for (const [k, l] of this.lingering) if (now >= l.until) this.lingering.delete(k);
    for (const e of [...this.conns.values()]) {
      if (e.incoming && e.conn.state === 'syn-recv' && now - e.conn.createdAtMs > this.opts.halfOpenTimeoutMs) {
        e.conn.destroy();
        this.forget(e);
        continue;
      }
      e.conn.tick();
    }
  }
}

function key(address: string, port: number, id: number): string {
  return `${address}|${port}|${id}`;
}

function checkOptions(opts: UtpSocketOptions): void {
  const payloadSize = opts.payloadSize ?? DEFAULT_PAYLOAD_SIZE;
  if (!Number.isInteger(payloadSize) || payloadSize < 64 || payloadSize > 64_000) {
    throw new UtpError('EUTP_INVALID_ARGUMENT', { argument: 'payloadSize', reason: `${payloadSize} is not an integer in 64..64000` });
  }
  for (const [name, v] of [
    ['recvBuffer', opts.recvBuffer ?? DEFAULT_RECV_BUFFER],
    ['sendBuffer', opts.sendBuffer ?? DEFAULT_SEND_BUFFER],
  ] as const) {
    if (!Number.isInteger(v) || v < payloadSize) {
      throw new UtpError('EUTP_INVALID_ARGUMENT', { argument: name, reason: `${v} is smaller than one packet (${payloadSize})` });
    }
  }
}
