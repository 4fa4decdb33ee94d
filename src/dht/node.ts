/**
 * A DHT node (BEP 5, with BEP 32 IPv6, BEP 42 node ids, BEP 43 read-only): the UDP I/O,
 * the outstanding queries, answering other nodes, and the lookups the engine asks for.
 * Every decision that depends on time reads the injected `now`; one periodic `tick` does all
 * the housekeeping, so tests drive time by hand.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIP, isIPv6 } from 'node:net';
import createDebug from 'debug';
import { formatIPv6, type PeerAddress } from '../wire/address.js';
import { ipv6Bytes } from '../tracker/compact.js';
import { bep42NodeId, isBep42Valid, isLocalAddress } from './bep42.js';
import { familyOf, type Family, type NodeInfo } from './compact.js';
import { cryptoRandom, shortId, type RandomBytes } from './id.js';
import {
  decodeKrpc,
  encodeKrpc,
  KRPC_METHOD_UNKNOWN,
  KRPC_PROTOCOL,
  MAX_DATAGRAM,
  type KrpcMessage,
  type KrpcQuery,
  type KrpcQueryMessage,
  type KrpcReplyMessage,
} from './krpc.js';
import { runLookup, type LookupStart } from './lookup.js';
import { PeerStore, type PeerStoreLimits } from './peer-store.js';
import { RateLimiter, type RateLimits } from './rate-limit.js';
import { K, RoutingTable } from './routing.js';
import { loadState, saveState } from './state.js';
import { TokenIssuer } from './token.js';
import { Transactions } from './transactions.js';

const log = createDebug('pytor:dht');

/** The public routers, by host name only (their addresses change; never hard-code one). */
export const DEFAULT_BOOTSTRAP: readonly PeerAddress[] = [
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
];

/** Announces are repeated every 15 to 30 minutes (random, so many torrents do not align). */
export const ANNOUNCE_MIN_MS = 15 * 60_000;
export const ANNOUNCE_MAX_MS = 30 * 60_000;
const DEFAULT_QUERY_TIMEOUT_MS = 2000;
const DEFAULT_TICK_MS = 5000;
/** Unknown nodes that queried us and are being pinged before they may enter the table. */
const MAX_VERIFYING = 64;
/** Distinct voters needed before we believe an external address from `ip` fields. */
const EXTERNAL_VOTES = 3;
const MAX_VOTE_ADDRESSES = 32;
const SAVE_EVERY_MS = 10 * 60_000;
const REBOOTSTRAP_EVERY_MS = 60_000;
const VERSION = Buffer.from('PY01', 'latin1');

/** A UDP socket the node may share (with uTP): the owner demultiplexes by first byte ('d' is KRPC). */
export interface DatagramTransport {
  send(buf: Buffer, port: number, address: string): void;
}

export interface DhtNodeOptions {
  /** UDP port to bind (0: any free one); ignored with `transport`. */
  readonly port: number;
  /** Address to bind; default both 0.0.0.0 and :: (dual-stack when the machine has IPv6). */
  readonly host?: string;
  /** Routers to start from when the table is empty; `DEFAULT_BOOTSTRAP` for the public DHT. */
  readonly bootstrap: readonly PeerAddress[];
  /** Where the node id and good nodes are kept across runs. */
  readonly stateFile?: string;
  readonly now?: () => number;
  readonly random?: RandomBytes;
  /** Send through this instead of own sockets; the owner calls handleDatagram for 'd' packets. */
  readonly transport?: DatagramTransport;
  /** Families spoken over `transport` (default both). */
  readonly families?: readonly Family[];
  /** Fixed node id (tests); otherwise the saved one, or BEP 42 / random. */
  readonly nodeId?: Buffer;
  readonly queryTimeoutMs?: number;
  /** Period of the housekeeping tick; 0 = none (tests call tick()). */
  readonly tickMs?: number;
  readonly rateLimits?: Partial<RateLimits>;
  readonly peerStoreLimits?: Partial<PeerStoreLimits>;
  /** Host name resolution (default: the system resolver). */
  readonly resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

export interface DhtStats {
  readonly nodeId: string;
  readonly nodes: number;
  readonly goodNodes: number;
  readonly nodes6: number;
  readonly storedPeers: number;
  readonly storedInfoHashes: number;
  readonly pendingQueries: number;
  readonly received: number;
  readonly sent: number;
  /** Datagrams that were not valid KRPC (or too large): dropped. */
  readonly malformed: number;
  /** Replies whose transaction id or exact address did not match a query of ours: dropped. */
  readonly unmatched: number;
  /** Queries not answered because of the rate limits. */
  readonly rateLimited: number;
  readonly queriesAnswered: number;
  readonly lookups: number;
  readonly externalAddress?: string;
}

interface Tracked {
  readonly infoHash: Buffer;
  readonly announcePort: number | undefined;
  readonly onPeers: (p: PeerAddress[]) => void;
  next: number;
  running: boolean;
  readonly abort: AbortController;
}

/**
 * One spelling per address: RFC 5952 for IPv6, and IPv4-mapped addresses (from a shared
 * dual-stack socket) as plain IPv4, so replies match and nodes land in the right table.
 */
function normalizeHost(host: string): string {
  if (!isIPv6(host)) return host;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) return mapped[1]!;
  const b = ipv6Bytes(host);
  return b ? formatIPv6(b, 0) : host;
}

/**
 * Events: 'bootstrapped' ({nodes}) after each bootstrap lookup; 'external-address' (ip) when
 * our external IP is learnt (votes from `ip` fields, or setExternalAddress).
 */
export class DhtNode extends EventEmitter {
  private id: Buffer;
  private readonly tables = new Map<Family, RoutingTable>();
  private readonly sockets = new Map<Family, dgram.Socket>();
  private readonly transactions: Transactions;
  private readonly tokens: TokenIssuer;
  private readonly store: PeerStore;
  private readonly limiter: RateLimiter;
  private readonly tracked = new Set<Tracked>();
  private readonly verifying = new Set<string>();
  private readonly votes = new Map<string, Set<string>>();
  private readonly now: () => number;
  private readonly random: RandomBytes;
  private tickTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private externalAddress: string | undefined;
  private savedNodes: NodeInfo[] = [];
  private bootstrapping: Promise<void> = Promise.resolve();
  private lastBootstrap = 0;
  private lastSave: number;
  private boundPort = 0;
  private readonly counters = { received: 0, sent: 0, malformed: 0, unmatched: 0, rateLimited: 0, queriesAnswered: 0, lookups: 0 };

  private constructor(private readonly opts: DhtNodeOptions, id: Buffer, families: readonly Family[]) {
    super();
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? cryptoRandom;
    this.transactions = new Transactions(opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS);
    this.id = id;
    const now = this.now();
    for (const f of families) this.tables.set(f, new RoutingTable(id, now));
    this.tokens = new TokenIssuer(this.random, now);
    this.store = new PeerStore(opts.peerStoreLimits);
    this.limiter = new RateLimiter(now, opts.rateLimits);
    this.lastSave = now;
  }

  /** Binds the socket(s), loads the state file and starts bootstrapping (in the background). */
  static async start(opts: DhtNodeOptions): Promise<DhtNode> {
    const random = opts.random ?? cryptoRandom;
    let saved: NodeInfo[] = [];
    let savedId: Buffer | undefined;
    if (opts.stateFile) {
      const st = await loadState(opts.stateFile);
      if (st instanceof Error) log('state file %s ignored: %s', opts.stateFile, st.message);
      else if (st) {
        savedId = st.id;
        saved = [...st.nodes];
      }
    }
    const id = opts.nodeId ?? savedId ?? random(20);
    let families: Family[];
    const sockets = new Map<Family, dgram.Socket>();
    let port = opts.port;
    if (opts.transport) {
      families = [...(opts.families ?? [4, 6])];
    } else {
      const host = opts.host;
      const want: Family[] = host === undefined ? [4, 6] : isIP(host) === 6 && host !== '::' ? [6] : host === '::' ? [4, 6] : [4];
      families = [];
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
    }
    const node = new DhtNode(opts, id, families);
    node.boundPort = port;
    node.savedNodes = saved;
    for (const [f, s] of sockets) {
      node.sockets.set(f, s);
      s.on('message', (buf, rinfo) => node.handleDatagram(buf, { address: rinfo.address, port: rinfo.port }));
      s.on('error', (e) => log('socket error (IPv%d): %s', f, e.message));
    }
    const tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
    if (tickMs > 0) {
      node.tickTimer = setInterval(() => node.tick(), tickMs);
      node.tickTimer.unref();
    }
    log('started id %s on port %d (IPv%s), %d saved nodes', shortId(id), port, families.join('+IPv'), saved.length);
    node.bootstrapping = node.bootstrap();
    return node;
  }

  get nodeId(): Buffer {
    return this.id;
  }

  /** The UDP port the node's own sockets are bound to (the option's port with a transport). */
  get port(): number {
    return this.boundPort;
  }

  /** Resolves when the first bootstrap lookup(s) have finished. */
  ready(): Promise<void> {
    return this.bootstrapping;
  }

  // ---- sending and matching ----

  private send(msg: KrpcMessage, host: string, port: number): void {
    if (this.closed) return;
    const buf = encodeKrpc(msg);
    const f = familyOf(host);
    this.counters.sent++;
    if (this.opts.transport) {
      if (this.tables.has(f)) this.opts.transport.send(buf, port, host);
      return;
    }
    this.sockets.get(f)?.send(buf, port, host, (err) => {
      if (err) log('send to %s:%d failed: %s', host, port, err.message);
    });
  }

  /** Sends a query; resolves with the reply from exactly that address, or undefined. */
  private async query(host: string, port: number, query: KrpcQuery, opts: { want?: Family[] } = {}): Promise<KrpcReplyMessage | undefined> {
    host = normalizeHost(host);
    if (this.closed || !this.tables.has(familyOf(host))) return undefined;
    const tx = this.transactions.open(host, port, () => {
      log('timeout %s %s:%d', query.method, host, port);
      this.tables.get(familyOf(host))?.failed(host, port, this.now());
    });
    if (!tx) return undefined;
    log('-> %s %s:%d', query.method, host, port);
    this.send({ y: 'q', t: tx.t, v: VERSION, id: this.id, query, readOnly: false, ...(opts.want ? { want: opts.want } : {}) }, host, port);
    const answer = await tx.answer;
    return answer?.y === 'r' ? answer : undefined;
  }

  /** Entry point for every datagram (own sockets, or a shared one). Never throws. */
  handleDatagram(buf: Buffer, from: { address: string; port: number }): void {
    if (this.closed) return;
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
      if (msg.y === 'q') this.onQuery(msg, host, from.port);
      else this.onResponse(msg, host, from.port);
    } catch (e) {
      // A bug of ours must not take the socket down: log it and carry on.
      log('error handling datagram from %s:%d: %s', host, from.port, (e as Error).stack);
    }
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
    this.heard({ id: msg.id, host, port }, 'reply');
    if (msg.ip) this.voteExternal(msg.ip.host, host);
  }

  private heard(node: NodeInfo, kind: 'reply' | 'query'): void {
    const table = this.tables.get(familyOf(node.host));
    if (!table) return;
    const res = table.heard(node, kind, this.now(), isBep42Valid(node.id, node.host));
    if (res.action === 'added') log('table +%s %s:%d (%d nodes)', shortId(node.id), node.host, node.port, table.size);
    else if (res.action === 'verify') this.verify(node.host, node.port);
    else if (res.action === 'full') for (const c of res.ping.slice(0, 2)) this.verify(c.host, c.port);
  }

  /** Pings a node; its reply (matched by address) is what lets it into the table. */
  private verify(host: string, port: number): void {
    const k = `${host}|${port}`;
    if (this.verifying.has(k) || this.verifying.size >= MAX_VERIFYING) return;
    this.verifying.add(k);
    void this.query(host, port, { method: 'ping' }).then(() => this.verifying.delete(k));
  }

  // ---- serving ----

  private onQuery(msg: KrpcQueryMessage, host: string, port: number): void {
    const now = this.now();
    if (!this.limiter.allow(host, now)) {
      this.counters.rateLimited++;
      return;
    }
    log('<- %s from %s:%d id %s', msg.query.method, host, port, shortId(msg.id));
    const reply = (r: Omit<KrpcReplyMessage, 'y' | 't' | 'id' | 'ip'>) => {
      this.counters.queriesAnswered++;
      this.send({ y: 'r', t: msg.t, v: VERSION, id: this.id, ip: { host, port }, ...r }, host, port);
    };
    const error = (code: number, message: string) => this.send({ y: 'e', t: msg.t, v: VERSION, code, message }, host, port);
    const q = msg.query;
    switch (q.method) {
      case 'ping':
        reply({});
        break;
      case 'find_node':
        reply(this.nodesFor(q.target, msg.want, host));
        break;
      case 'get_peers': {
        const values = this.store.get(q.infoHash, now);
        reply({ token: this.tokens.issue(host, now), ...(values.length > 0 ? { values } : {}), ...this.nodesFor(q.infoHash, msg.want, host) });
        break;
      }
      case 'announce_peer': {
        if (!this.tokens.check(q.token, host, now)) {
          error(KRPC_PROTOCOL, 'bad token');
          break;
        }
        const peerPort = q.impliedPort ? port : q.port;
        this.store.add(q.infoHash, { host, port: peerPort }, now);
        log('stored peer %s:%d for %s', host, peerPort, q.infoHash.toString('hex'));
        reply({});
        break;
      }
      case 'unknown':
        error(KRPC_METHOD_UNKNOWN, 'Method Unknown');
        break;
    }
    // BEP 43: a read-only node asks but must not be asked, so it stays out of the table.
    if (!msg.readOnly) this.heard({ id: msg.id, host, port }, 'query');
  }

  private nodesFor(target: Buffer, want: readonly Family[] | undefined, asker: string): { nodes?: NodeInfo[]; nodes6?: NodeInfo[] } {
    const families = want && want.length > 0 ? want : [familyOf(asker)];
    const now = this.now();
    const out: { nodes?: NodeInfo[]; nodes6?: NodeInfo[] } = {};
    for (const f of families) {
      const table = this.tables.get(f);
      const list = table ? table.closest(target, K, now).map((c) => ({ id: c.id, host: c.host, port: c.port })) : [];
      if (f === 4) out.nodes = list;
      else out.nodes6 = list;
    }
    return out;
  }

  // ---- external address and BEP 42 ----

  private voteExternal(ip: string, voter: string): void {
    if (isLocalAddress(ip) || ip === this.externalAddress) return;
    let voters = this.votes.get(ip);
    if (!voters) {
      if (this.votes.size >= MAX_VOTE_ADDRESSES) this.votes.delete(this.votes.keys().next().value as string);
      voters = new Set();
      this.votes.set(ip, voters);
    }
    voters.add(voter);
    if (voters.size >= EXTERNAL_VOTES) {
      this.votes.clear();
      this.setExternalAddress(ip);
    }
  }

  /** Our external IP (from a tracker's `external ip`, BEP 10 `yourip`, or DHT votes). */
  setExternalAddress(ip: string): void {
    ip = normalizeHost(ip);
    if (!isIP(ip) || isLocalAddress(ip)) return;
    if (ip !== this.externalAddress) this.emit('external-address', ip);
    this.externalAddress = ip;
    if (this.opts.nodeId || isBep42Valid(this.id, ip)) return;
    // Our id must follow our address (BEP 42), or careful nodes will not keep us.
    this.id = bep42NodeId(ip, this.random);
    log('external address %s: new node id %s', ip, shortId(this.id));
    const now = this.now();
    for (const [f, old] of this.tables) {
      const table = new RoutingTable(this.id, now);
      for (const c of old.all()) table.heard(c, 'reply', now, c.secure);
      this.tables.set(f, table);
    }
  }

  // ---- lookups ----

  private async resolveBootstrap(): Promise<LookupStart[]> {
    const resolve = this.opts.resolve ?? ((h: string) => dnsLookup(h, { all: true }));
    const out: LookupStart[] = [];
    await Promise.all(
      this.opts.bootstrap.map(async (b) => {
        try {
          for (const a of await resolve(b.host)) out.push({ host: normalizeHost(a.address), port: b.port });
        } catch (e) {
          log('cannot resolve %s: %s', b.host, (e as Error).message);
        }
      }),
    );
    return out;
  }

  private async bootstrap(): Promise<void> {
    this.lastBootstrap = this.now();
    const routers = this.savedNodes.length >= K ? [] : await this.resolveBootstrap();
    const start = [...this.savedNodes, ...routers];
    this.savedNodes = [];
    await Promise.all([...this.tables.keys()].map((f) => this.lookup(f, 'find_node', this.id, start.filter((s) => familyOf(s.host) === f))));
    if (this.tableSize() === 0 && routers.length === 0 && this.opts.bootstrap.length > 0) {
      // The saved nodes are all gone: fall back to the routers.
      const more = await this.resolveBootstrap();
      await Promise.all([...this.tables.keys()].map((f) => this.lookup(f, 'find_node', this.id, more.filter((s) => familyOf(s.host) === f))));
    }
    log('bootstrapped: %d nodes', this.tableSize());
    this.emit('bootstrapped', { nodes: this.tableSize() });
  }

  private tableSize(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  private async lookup(
    family: Family,
    method: 'find_node' | 'get_peers',
    target: Buffer,
    extra: readonly LookupStart[] = [],
    onPeers?: (p: PeerAddress[]) => void,
    signal?: AbortSignal,
  ) {
    const table = this.tables.get(family);
    const now = this.now();
    const known = table ? table.closest(target, K * 2, now).map((c) => ({ id: c.id, host: c.host, port: c.port })) : [];
    let start: LookupStart[] = [...known, ...extra];
    if (start.length < K && extra.length === 0 && this.closed === false) {
      start = [...start, ...(await this.resolveBootstrap()).filter((s) => familyOf(s.host) === family)];
    }
    this.counters.lookups++;
    const q: KrpcQuery = method === 'find_node' ? { method, target } : { method, infoHash: target };
    const res = await runLookup({
      target,
      ownId: this.id,
      start,
      k: K,
      query: (n) => this.query(n.host, n.port, q),
      nodesOf: (r) => (family === 4 ? r.nodes ?? [] : r.nodes6 ?? []),
      ...(onPeers ? { onPeers } : {}),
      ...(signal ? { signal } : {}),
    });
    log('%s %s (IPv%d): %d queries, %d closest, %d peers', method, shortId(target), family, res.queries, res.closest.length, res.peers.length);
    return res;
  }

  /** One iterative get_peers lookup; peers reported as they arrive (onPeers) and all at the end. */
  async getPeers(
    infoHash: Buffer,
    opts: { onPeers?: (p: PeerAddress[]) => void; signal?: AbortSignal; announcePort?: number; impliedPort?: boolean } = {},
  ): Promise<PeerAddress[]> {
    if (infoHash.length !== 20) throw new RangeError('info-hash must be 20 bytes');
    await this.bootstrapping;
    const found = new Map<string, PeerAddress>();
    const report = (peers: PeerAddress[]) => {
      const fresh = peers.filter((p) => {
        const k = `${p.host}|${p.port}`;
        if (found.has(k)) return false;
        found.set(k, p);
        return true;
      });
      if (fresh.length > 0) opts.onPeers?.(fresh);
    };
    // Peers announced to us count too: we may be one of the closest nodes ourselves.
    report(this.store.get(infoHash, this.now()));
    const results = await Promise.all([...this.tables.keys()].map((f) => this.lookup(f, 'get_peers', infoHash, [], report, opts.signal)));
    if (opts.announcePort !== undefined && !opts.signal?.aborted) {
      const announces: Promise<unknown>[] = [];
      for (const r of results) {
        for (const a of r.closest) {
          if (!a.token) continue;
          announces.push(
            this.query(a.node.host, a.node.port, {
              method: 'announce_peer',
              infoHash,
              port: opts.announcePort,
              token: a.token,
              impliedPort: opts.impliedPort ?? false,
            }),
          );
        }
      }
      const acks = (await Promise.all(announces)).filter((x) => x !== undefined).length;
      log('announced %s port %d to %d of %d nodes', infoHash.toString('hex'), opts.announcePort, acks, announces.length);
    }
    return [...found.values()];
  }

  /** Keeps looking up and re-announcing a torrent every 15-30 min until the handle is stopped. */
  track(infoHash: Buffer, announcePort: number | undefined, onPeers: (p: PeerAddress[]) => void): { stop(): void } {
    const t: Tracked = { infoHash, announcePort, onPeers, next: this.now(), running: false, abort: new AbortController() };
    this.tracked.add(t);
    this.runTracked(t);
    return {
      stop: () => {
        this.tracked.delete(t);
        t.abort.abort();
      },
    };
  }

  private runTracked(t: Tracked): void {
    if (t.running || this.closed) return;
    t.running = true;
    const opts = { onPeers: t.onPeers, signal: t.abort.signal, ...(t.announcePort !== undefined ? { announcePort: t.announcePort } : {}) };
    void this.getPeers(t.infoHash, opts)
      .catch((e: Error) => log('tracked lookup failed: %s', e.message))
      .finally(() => {
        t.running = false;
        const spread = ANNOUNCE_MAX_MS - ANNOUNCE_MIN_MS;
        t.next = this.now() + ANNOUNCE_MIN_MS + Math.floor((this.random(2).readUInt16BE(0) / 0x10000) * spread);
      });
  }

  /** Tracked torrents and when each runs next (for tests and `pytor peers`). */
  trackedSchedule(): { infoHash: string; next: number; running: boolean }[] {
    return [...this.tracked].map((t) => ({ infoHash: t.infoHash.toString('hex'), next: t.next, running: t.running }));
  }

  /** A node heard of elsewhere (a peer's BEP 5 `port` message): ping it, it joins when it answers. */
  addNode(address: PeerAddress): void {
    if (!isIP(address.host) || address.port < 1 || address.port > 65535) return;
    this.verify(normalizeHost(address.host), address.port);
  }

  // ---- housekeeping ----

  /** Periodic work: expire stored peers, refresh stale buckets, ping questionable nodes, re-announce. */
  tick(): void {
    if (this.closed) return;
    const now = this.now();
    this.store.sweep(now);
    for (const [f, table] of this.tables) {
      for (const target of table.refreshTargets(now, this.random)) {
        log('refreshing a bucket of IPv%d', f);
        void this.lookup(f, 'find_node', target);
      }
      for (const c of table.questionable(now).slice(0, 4)) this.verify(c.host, c.port);
    }
    for (const t of this.tracked) if (!t.running && now >= t.next) this.runTracked(t);
    if (this.tableSize() < K && now - this.lastBootstrap >= REBOOTSTRAP_EVERY_MS) this.bootstrapping = this.bootstrap();
    if (this.opts.stateFile && now - this.lastSave >= SAVE_EVERY_MS) {
      this.lastSave = now;
      void this.save().catch((e: Error) => log('saving state failed: %s', e.message));
    }
  }

  /** The good nodes of every table, closest to our id first. */
  goodNodes(): NodeInfo[] {
    const now = this.now();
    const out: NodeInfo[] = [];
    for (const table of this.tables.values()) {
      for (const c of table.closest(this.id, Number.MAX_SAFE_INTEGER, now)) {
        if (table.state(c, now) === 'good') out.push({ id: c.id, host: c.host, port: c.port });
      }
    }
    return out;
  }

  async save(): Promise<void> {
    if (!this.opts.stateFile) return;
    await saveState(this.opts.stateFile, { id: this.id, nodes: this.goodNodes() });
  }

  stats(): DhtStats {
    const now = this.now();
    let nodes = 0;
    let good = 0;
    for (const t of this.tables.values()) {
      nodes += t.size;
      good += t.goodCount(now);
    }
    return {
      nodeId: this.id.toString('hex'),
      nodes,
      goodNodes: good,
      nodes6: this.tables.get(6)?.size ?? 0,
      storedPeers: this.store.size,
      storedInfoHashes: this.store.infoHashCount,
      pendingQueries: this.transactions.size,
      ...this.counters,
      ...(this.externalAddress ? { externalAddress: this.externalAddress } : {}),
    };
  }

  /** Saves the state, then stops every timer, query and socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    let saveError: Error | undefined;
    try {
      await this.save();
    } catch (e) {
      saveError = e as Error;
    }
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    for (const t of this.tracked) t.abort.abort();
    this.tracked.clear();
    this.transactions.cancelAll();
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
    await this.bootstrapping.catch(() => undefined);
    if (saveError) log('saving state failed: %s', saveError.message);
  }
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
