// A simulated network for uTP connections: a fake clock, per-packet delay with jitter (which
// reorders), loss and duplication from a seeded generator. Two Connection objects talk through
// it exactly as through a UDP socket, so whole transfers run in milliseconds of real time.
import { Connection, decodePacket, PacketType, type ConnectionOptions, type UtpError } from '../../src/utp/index.js';
import { prng, type Random } from '../helpers/random.js';

export interface SimOptions {
  seed?: number;
  delayMs?: number;
  jitterMs?: number;
  loss?: number;
  dup?: number;
  /** Initial sequence numbers (to test wrap-around). */
  seqA?: number;
  seqB?: number;
  conn?: Partial<ConnectionOptions>;
  /**
   * A bottleneck on the a -> b direction: packets leave at `bytesPerMs` through a FIFO queue
   * that holds at most `bufferMs` of waiting (tail drop), like a home uplink.
   */
  bottleneck?: { bytesPerMs: number; bufferMs: number };
}

interface InFlight {
  at: number;
  order: number;
  to: 'a' | 'b';
  buf: Buffer;
}

export class SimNet {
  now = 0;
  readonly rng: Random;
  readonly a: Connection;
  b: Connection | null = null;
  aClosed: { err?: UtpError } | null = null;
  bClosed: { err?: UtpError } | null = null;
  aConnected = false;
  bConnected = false;
  /** Datagrams sent each way (including the ones the network then lost). */
  sent = { a: 0, b: 0 };
  private readonly packets: InFlight[] = [];
  private order = 0;
  private readonly dirty = new Set<Connection>();
  private nextTick = 0;
  private linkFreeAt = 0;
  /** Drops every datagram matching this, both ways (tests of lost SYNs, FINs...). */
  filter: ((to: 'a' | 'b', buf: Buffer) => boolean) | null = null;

  constructor(private readonly opts: SimOptions = {}) {
    this.rng = prng(opts.seed ?? 1);
    this.a = Connection.connect({
      ...this.common('b'),
      recvId: 1000,
      seq: opts.seqA ?? 1,
    });
    this.a.events.onConnect = () => (this.aConnected = true);
    this.a.events.onClose = (err) => (this.aClosed = { err });
  }

  private common(to: 'a' | 'b'): Omit<ConnectionOptions, 'recvId' | 'sendId' | 'seq'> {
    return {
      now: () => this.now,
      send: (d) => this.transmit(to, d),
      requestFlush: (c) => this.dirty.add(c),
      ...this.opts.conn,
    };
  }

  transmit(to: 'a' | 'b', buf: Buffer): void {
    this.sent[to === 'b' ? 'a' : 'b']++;
    const { loss = 0, dup = 0, delayMs = 10, jitterMs = 0 } = this.opts;
    if (this.rng() < loss) return;
    const bn = this.opts.bottleneck;
    if (bn && to === 'b') {
      const start = Math.max(this.now, this.linkFreeAt);
      if (start - this.now > bn.bufferMs) return; // the queue is full: tail drop
      this.linkFreeAt = start + buf.length / bn.bytesPerMs;
      this.packets.push({ at: this.linkFreeAt + delayMs, order: this.order++, to, buf: Buffer.from(buf) });
      return;
    }
    const copies = this.rng() < dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.packets.push({ at: this.now + delayMs + this.rng() * jitterMs, order: this.order++, to, buf: Buffer.from(buf) });
    }
  }

  private deliver(p: InFlight): void {
    if (this.filter?.(p.to, p.buf)) return;
    const r = decodePacket(p.buf);
    if (r.kind !== 'packet') throw new Error(`a connection sent an undecodable packet: ${r.err.message}`);
    if (p.to === 'a') {
      this.a.onPacket(r.packet);
      return;
    }
    if (!this.b) {
      if (r.packet.type !== PacketType.SYN) return;
      this.b = Connection.accept(r.packet, { ...this.common('a'), seq: this.opts.seqB ?? 30_000 });
      this.b.events.onConnect = () => (this.bConnected = true);
      this.b.events.onClose = (err) => (this.bClosed = { err });
      return;
    }
    this.b.onPacket(r.packet);
  }

  /** Runs until `done()` or `maxMs` of simulated time; `app()` runs after every event. */
  run(done: () => boolean, maxMs: number, app: () => void = () => {}): void {
    const limit = this.now + maxMs;
    while (!done() && this.now < limit) {
      let idx = -1;
      for (let i = 0; i < this.packets.length; i++) {
        const p = this.packets[i]!;
        const best = idx < 0 ? null : this.packets[idx]!;
        if (!best || p.at < best.at || (p.at === best.at && p.order < best.order)) idx = i;
      }
      const nextPacketAt = idx < 0 ? Infinity : this.packets[idx]!.at;
      if (nextPacketAt <= this.nextTick) {
        const p = this.packets.splice(idx, 1)[0]!;
        this.now = Math.max(this.now, p.at);
        this.deliver(p);
      } else {
        this.now = Math.max(this.now, this.nextTick);
        this.nextTick += 10;
        this.a.tick();
        this.b?.tick();
      }
      app();
      while (this.dirty.size > 0) {
        const list = [...this.dirty];
        this.dirty.clear();
        for (const c of list) c.flush();
      }
    }
  }

  /** How long a packet sent now would wait in the bottleneck queue (ms). */
  get queueDelayMs(): number {
    return Math.max(0, this.linkFreeAt - this.now);
  }

  get inFlightPackets(): number {
    return this.packets.length;
  }
}

/** Moves `data` into `conn` as fast as its send buffer allows; returns the new offset. */
export function pumpWrite(conn: Connection, data: Buffer, offset: number, chunk = 16 * 1024): number {
  while (offset < data.length && conn.writableNow) {
    const end = Math.min(data.length, offset + chunk);
    conn.write(data.subarray(offset, end));
    offset = end;
  }
  return offset;
}

/** Reads everything available from `conn` into `sink`; returns true at the end of stream. */
export function pumpRead(conn: Connection | null, sink: Buffer[]): boolean {
  if (!conn) return false;
  for (;;) {
    const c = conn.read();
    if (c === undefined) return false;
    if (c === null) return true;
    sink.push(Buffer.from(c));
  }
}
