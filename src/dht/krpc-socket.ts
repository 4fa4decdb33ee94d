/**
 * The KRPC plumbing of a DHT node: its own UDP sockets (or a socket shared with uTP), sending,
 * queries matched to their replies by transaction id and exact address, and the intake of
 * every datagram (bounded and decoded before the node sees it). What a query or reply means
 * is the node's business: they are handed to it through `KrpcHandlers`.
 */
import dgram from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import createDebug from 'debug';
import { formatIPv6 } from '../wire/address.js';
import { ipv6Bytes } from '../tracker/compact.js';
import { familyOf, type Family } from './compact.js';
import { shortId } from './id.js';
import { decodeKrpc, encodeKrpc, MAX_DATAGRAM, type KrpcMessage, type KrpcQuery, type KrpcQueryMessage, type KrpcReplyMessage } from './krpc.js';
import { Transactions } from './transactions.js';

const log = createDebug('pytor:dht');

/** Our client version, sent with every query and reply. */
export const VERSION = Buffer.from('PY01', 'latin1');

/** A UDP socket the node may share (with uTP): the owner demultiplexes by first byte ('d' is KRPC). */
export interface DatagramTransport {
  send(buf: Buffer, port: number, address: string): void;
}

/**
 * One spelling per address: RFC 5952 for IPv6, and IPv4-mapped addresses (from a shared
 * dual-stack socket) as plain IPv4, so replies match and nodes land in the right table.
 */
export function normalizeHost(host: string): string {
  if (!isIPv6(host)) return host;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1]!;
  const b = ipv6Bytes(host);
  return b ? formatIPv6(b, 0) : host;
}

export interface KrpcCounters {
  received: number;
  sent: number;
  malformed: number;
  unmatched: number;
}

export interface KrpcHandlers {
  /** Our node id as of now (BEP 42 may change it). */
  id(): Buffer;
  /** The node is closed: nothing is sent or taken in any more. */
  isClosed(): boolean;
  onQuery(msg: KrpcQueryMessage, host: string, port: number): void;
  /** A reply that matched one of our queries (after it settled that query). */
  onReply(msg: KrpcReplyMessage, host: string, port: number): void;
  /** A query of ours to host:port went unanswered. */
  onTimeout(host: string, port: number): void;
}

export interface KrpcSocketOptions {
  /** The families the node speaks (one routing table each). */
  readonly families: readonly Family[];
  /** Own sockets by family; empty with `transport`. */
  readonly sockets: ReadonlyMap<Family, dgram.Socket>;
  readonly transport?: DatagramTransport;
  readonly queryTimeoutMs: number;
  /** Shared with the node's other counters (stats). */
  readonly counters: KrpcCounters;
  readonly handlers: KrpcHandlers;
}

export class KrpcSocket {
  private readonly families: ReadonlySet<Family>;
  private readonly sockets: Map<Family, dgram.Socket>;
  private readonly transactions: Transactions;
  private readonly counters: KrpcCounters;
  private readonly handlers: KrpcHandlers;

  constructor(private readonly opts: KrpcSocketOptions) {
    this.families = new Set(opts.families);
    this.sockets = new Map(opts.sockets);
    this.transactions = new Transactions(opts.queryTimeoutMs);
    this.counters = opts.counters;
    this.handlers = opts.handlers;
  }

  /** Queries waiting for their reply. */
  get pendingQueries(): number {
    return this.transactions.size;
  }

  send(msg: KrpcMessage, host: string, port: number): void {
    if (this.handlers.isClosed()) return;
    const buf = encodeKrpc(msg);
    const f = familyOf(host);
    this.counters.sent++;
    if (this.opts.transport) {
      if (this.families.has(f)) this.opts.transport.send(buf, port, host);
      return;
    }
    this.sockets.get(f)?.send(buf, port, host, (err) => {
      if (err) log('send to %s:%d failed: %s', host, port, err.message);
    });
  }

  /** Sends a query; resolves with the reply from exactly that address, or undefined. */
  async query(host: string, port: number, query: KrpcQuery, opts: { want?: Family[] } = {}): Promise<KrpcReplyMessage | undefined> {
    host = normalizeHost(host);
    if (this.handlers.isClosed() || !this.families.has(familyOf(host))) return undefined;
    const tx = this.transactions.open(host, port, () => {
      log('timeout %s %s:%d', query.method, host, port);
      this.handlers.onTimeout(host, port);
    });
    if (!tx) return undefined;
    log('-> %s %s:%d', query.method, host, port);
    this.send({ y: 'q', t: tx.t, v: VERSION, id: this.handlers.id(), query, readOnly: false, ...(opts.want ? { want: opts.want } : {}) }, host, port);
    const answer = await tx.answer;
    return answer?.y === 'r' ? answer : undefined;
  }

  /** Entry point for every datagram (own sockets, or a shared one). Never throws. */
  receive(buf: Buffer, from: { address: string; port: number }): void {
    if (this.handlers.isClosed()) return;
    this.counters.received++;
    const host = normalizeHost(from.address);
    if (buf.length > MAX_DATAGRAM || buf[0] !== 0x64) {
      this.counters.malformed++;
      return;
    }
    const r = decodeKrpc(buf);
    if (r.kind === 'error') {
      this.counters.malformed++;
      log('dropped datagram from %s:%d: %s', host, from.port, r.err.message);
      return;
    }
    const msg = r.msg;
    try {
      if (msg.y === 'q') this.handlers.onQuery(msg, host, from.port);
      else this.onResponse(msg, host, from.port);
    } catch (e) {
      // A bug of ours must not take the socket down: log it and carry on.
      log('error handling datagram from %s:%d: %s', host, from.port, (e as Error).stack);
    }
  }

  /** Ends every outstanding query (they resolve undefined) and closes the own sockets. */
  async close(): Promise<void> {
    this.transactions.cancelAll();
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
  }

  private onResponse(msg: Exclude<KrpcMessage, KrpcQueryMessage>, host: string, port: number): void {
    if (!this.transactions.settle(msg, host, port)) {
      this.counters.unmatched++;
      log('unmatched %s from %s:%d', msg.y === 'r' ? 'reply' : 'error', host, port);
      return;
    }
    if (msg.y === 'e') {
      log('<- error %d "%s" from %s:%d', msg.code, msg.message, host, port);
      return;
    }
    log('<- reply from %s:%d id %s (%d nodes, %d nodes6, %d values)', host, port, shortId(msg.id), msg.nodes?.length ?? 0, msg.nodes6?.length ?? 0, msg.values?.length ?? 0);
    this.handlers.onReply(msg, host, port);
  }
}

/**
 * Binds the node's own sockets: one per family on `host` (default both 0.0.0.0 and ::), all on
 * one port (the first bound decides it when `port` is 0).
 */
export async function openSockets(host: string | undefined, port: number): Promise<{ families: Family[]; sockets: Map<Family, dgram.Socket>; port: number }> {
  const sockets = new Map<Family, dgram.Socket>();
  const want: Family[] = host === undefined ? [4, 6] : isIP(host) === 6 && host !== '::' ? [6] : host === '::' ? [4, 6] : [4];
  const families: Family[] = [];
  for (const f of want) {
    const bindHost = host !== undefined && host !== '::' ? host : f === 4 ? '0.0.0.0' : '::';
    try {
      const s = await bindSocket(f, bindHost, port);
      port = s.address().port;
      sockets.set(f, s);
      families.push(f);
    } catch (e) {
      // IPv6 missing on this machine is fine when IPv4 works; the reverse is an error.
      if (f === 6 && families.length > 0) log('no IPv6 socket: %s', (e as Error).message);
      else {
        for (const s of sockets.values()) s.close();
        throw e;
      }
    }
  }
  return { families, sockets, port };
}

function bindSocket(family: Family, host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', ...(family === 6 ? { ipv6Only: true } : {}) });
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.bind({ address: host, port, exclusive: true }, () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}
