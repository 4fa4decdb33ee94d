/**
 * A DHT node (BEP 5, with BEP 32 IPv6, BEP 42 node ids, BEP 43 read-only): the routing tables
 * and what keeps them full (bootstrap, refresh, verifying nodes), our external address and id,
 * the torrents it keeps announcing, and the node's public face. The KRPC plumbing is
 * krpc-socket.ts, answering other nodes query-server.ts, the lookups node-lookups.ts.
 * Every decision that depends on time reads the injected `now`; one periodic `tick` does all
 * the housekeeping, so tests drive time by hand.
 */
import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import createDebug from 'debug';
import type { PeerAddress } from '../wire/address.js';
import { bep42NodeId, isBep42Valid, isLocalAddress } from './bep42.js';
import { familyOf, type Family, type NodeInfo } from './compact.js';
import { cryptoRandom, shortId, type RandomBytes } from './id.js';
import type { KrpcReplyMessage } from './krpc.js';
import { KrpcSocket, normalizeHost, openSockets, type DatagramTransport } from './krpc-socket.js';
import { NodeLookups, type GetPeersOptions } from './node-lookups.js';
import { PeerStore, type PeerStoreLimits } from './peer-store.js';
import { QueryServer } from './query-server.js';
import { RateLimiter, type RateLimits } from './rate-limit.js';
import { K, RoutingTable } from './routing.js';
import { loadState, saveState } from './state.js';
import { TokenIssuer } from './token.js';

export type { DatagramTransport } from './krpc-socket.js';
export { ANNOUNCE_MAX_MS, ANNOUNCE_MIN_MS } from './node-lookups.js';

const log = createDebug('pytor:dht');

/** The public routers, by host name only (their addresses change; never hard-code one). */
export const DEFAULT_BOOTSTRAP: readonly PeerAddress[] = [
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
];

const DEFAULT_QUERY_TIMEOUT_MS = 2000;
const DEFAULT_TICK_MS = 5000;
/** Unknown nodes that queried us and are being pinged before they may enter the table. */
const MAX_VERIFYING = 64;
/** Distinct voters needed before we believe an external address from `ip` fields. */
const EXTERNAL_VOTES = 3;
const MAX_VOTE_ADDRESSES = 32;
const SAVE_EVERY_MS = 10 * 60_000;
const REBOOTSTRAP_EVERY_MS = 60_000;

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

/**
 * Events: 'bootstrapped' ({nodes}) after each bootstrap lookup; 'external-address' (ip) when
 * our external IP is learnt (votes from `ip` fields, or setExternalAddress).
 */
export class DhtNode extends EventEmitter {
  private id: Buffer;
  private readonly tables = new Map<Family, RoutingTable>();
  private readonly krpc: KrpcSocket;
  private readonly server: QueryServer;
  private readonly lookups: NodeLookups;
  private readonly store: PeerStore;
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

  private constructor(
    private readonly opts: DhtNodeOptions,
    id: Buffer,
    families: readonly Family[],
    sockets: ReadonlyMap<Family, dgram.Socket>,
  ) {
    super();
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? cryptoRandom;
    const ownId = () => this.id;
    const isClosed = () => this.closed;
    this.krpc = new KrpcSocket({
      families,
      sockets,
      ...(opts.transport ? { transport: opts.transport } : {}),
      queryTimeoutMs: opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
      counters: this.counters,
      handlers: {
        id: ownId,
        isClosed,
        onQuery: (msg, host, port) => this.server.answer(msg, host, port),
        onReply: (msg, host, port) => this.onReply(msg, host, port),
        onTimeout: (host, port) => this.tables.get(familyOf(host))?.failed(host, port, this.now()),
      },
    });
    this.id = id;
    const now = this.now();
    for (const f of families) this.tables.set(f, new RoutingTable(id, now));
    const tokens = new TokenIssuer(this.random, now);
    this.store = new PeerStore(opts.peerStoreLimits);
    this.server = new QueryServer({
      now: this.now,
      id: ownId,
      tables: this.tables,
      store: this.store,
      tokens,
      limiter: new RateLimiter(now, opts.rateLimits),
      send: (msg, host, port) => this.krpc.send(msg, host, port),
      heard: (node, kind) => this.heard(node, kind),
      counters: this.counters,
    });
    this.lookups = new NodeLookups({
      now: this.now,
      id: ownId,
      random: this.random,
      isClosed,
      ready: () => this.bootstrapping,
      tables: this.tables,
      store: this.store,
      query: (host, port, q) => this.krpc.query(host, port, q),
      bootstrap: opts.bootstrap,
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
      counters: this.counters,
    });
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
    const { families, sockets, port } = opts.transport
      ? { families: [...(opts.families ?? [4, 6])], sockets: new Map<Family, dgram.Socket>(), port: opts.port }
      : await openSockets(opts.host, opts.port);
    const node = new DhtNode(opts, id, families, sockets);
    node.boundPort = port;
    node.savedNodes = saved;
    for (const [f, s] of sockets) {
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

  /** Entry point for every datagram (own sockets, or a shared one). Never throws. */
  handleDatagram(buf: Buffer, from: { address: string; port: number }): void {
    this.krpc.receive(buf, from);
  }

  // ---- the routing tables ----

  private onReply(msg: KrpcReplyMessage, host: string, port: number): void {
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
    void this.krpc.query(host, port, { method: 'ping' }).then(() => this.verifying.delete(k));
  }

  /** A node heard of elsewhere (a peer's BEP 5 `port` message): ping it, it joins when it answers. */
  addNode(address: PeerAddress): void {
    if (!isIP(address.host) || address.port < 1 || address.port > 65535) return;
    this.verify(normalizeHost(address.host), address.port);
  }

  private async bootstrap(): Promise<void> {
    this.lastBootstrap = this.now();
    const routers = this.savedNodes.length >= K ? [] : await this.lookups.resolveBootstrap();
    const start = [...this.savedNodes, ...routers];
    this.savedNodes = [];
    await Promise.all([...this.tables.keys()].map((f) => this.lookups.lookup(f, 'find_node', this.id, start.filter((s) => familyOf(s.host) === f))));
    if (this.tableSize() === 0 && routers.length === 0 && this.opts.bootstrap.length > 0) {
      // The saved nodes are all gone: fall back to the routers.
      const more = await this.lookups.resolveBootstrap();
      await Promise.all([...this.tables.keys()].map((f) => this.lookups.lookup(f, 'find_node', this.id, more.filter((s) => familyOf(s.host) === f))));
    }
    log('bootstrapped: %d nodes', this.tableSize());
    this.emit('bootstrapped', { nodes: this.tableSize() });
  }

  private tableSize(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
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

  /** One iterative get_peers lookup; peers reported as they arrive (onPeers) and all at the end. */
  getPeers(infoHash: Buffer, opts: GetPeersOptions = {}): Promise<PeerAddress[]> {
    return this.lookups.getPeers(infoHash, opts);
  }

  /** Keeps looking up and re-announcing a torrent every 15-30 min until the handle is stopped. */
  track(infoHash: Buffer, announcePort: number | undefined, onPeers: (p: PeerAddress[]) => void): { stop(): void } {
    return this.lookups.track(infoHash, announcePort, onPeers);
  }

  /** Tracked torrents and when each runs next (for tests and `pytor peers`). */
  trackedSchedule(): { infoHash: string; next: number; running: boolean }[] {
    return this.lookups.trackedSchedule();
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
        void this.lookups.lookup(f, 'find_node', target);
      }
      for (const c of table.questionable(now).slice(0, 4)) this.verify(c.host, c.port);
    }
    this.lookups.runDueTracked(now);
    if (this.tableSize() < K && now - this.lastBootstrap >= REBOOTSTRAP_EVERY_MS) this.bootstrapping = this.bootstrap();
    if (this.opts.stateFile && now - this.lastSave >= SAVE_EVERY_MS) {
      this.lastSave = now;
      void this.save().catch((e: Error) => log('saving state failed: %s', e.message));
    }
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
      pendingQueries: this.krpc.pendingQueries,
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
    this.lookups.stopTracking();
    await this.krpc.close();
    await this.bootstrapping.catch(() => undefined);
    if (saveError) log('saving state failed: %s', saveError.message);
  }
}
