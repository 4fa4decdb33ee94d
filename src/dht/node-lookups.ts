/**
 * The lookups a DHT node runs (the iterative algorithm itself is lookup.ts): where each starts
 * (our own table, given nodes, the bootstrap routers when we know too few), and the get_peers
 * lookup the engine asks for, with the announce_peer to the closest nodes that follows it, and
 * the torrents it keeps looking up and announcing on a schedule.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import createDebug from 'debug';
import type { PeerAddress } from '../wire/address.js';
import { familyOf, type Family } from './compact.js';
import { shortId, type RandomBytes } from './id.js';
import type { KrpcQuery, KrpcReplyMessage } from './krpc.js';
import { normalizeHost } from './krpc-socket.js';
import { runLookup, type LookupStart } from './lookup.js';
import type { PeerStore } from './peer-store.js';
import { K, type RoutingTable } from './routing.js';

const log = createDebug('pytor:dht');

/** Announces are repeated every 15 to 30 minutes (random, so many torrents do not align). */
export const ANNOUNCE_MIN_MS = 15 * 60_000;
export const ANNOUNCE_MAX_MS = 30 * 60_000;

export interface LookupContext {
  now(): number;
  /** Our node id as of now (BEP 42 may change it). */
  id(): Buffer;
  readonly random: RandomBytes;
  isClosed(): boolean;
  /** Resolves when the bootstrap running now (if any) has finished. */
  ready(): Promise<void>;
  /** The routing table of each family the node speaks (replaced when our id changes). */
  readonly tables: ReadonlyMap<Family, RoutingTable>;
  readonly store: PeerStore;
  query(host: string, port: number, query: KrpcQuery): Promise<KrpcReplyMessage | undefined>;
  /** Routers to start from when the table is empty. */
  readonly bootstrap: readonly PeerAddress[];
  /** Host name resolution (default: the system resolver). */
  readonly resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
  /** Shared with the node's other counters (stats). */
  readonly counters: { lookups: number };
}

export interface GetPeersOptions {
  onPeers?: (p: PeerAddress[]) => void;
  signal?: AbortSignal;
  announcePort?: number;
  impliedPort?: boolean;
}

interface Tracked {
  readonly infoHash: Buffer;
  readonly announcePort: number | undefined;
  readonly onPeers: (p: PeerAddress[]) => void;
  next: number;
  running: boolean;
  readonly abort: AbortController;
}

export class NodeLookups {
  private readonly tracked = new Set<Tracked>();

  constructor(private readonly ctx: LookupContext) {}

  /** The bootstrap routers' addresses (a router that does not resolve is left out). */
  async resolveBootstrap(): Promise<LookupStart[]> {
    const resolve = this.ctx.resolve ?? ((h: string) => dnsLookup(h, { all: true }));
    const out: LookupStart[] = [];
    await Promise.all(
      this.ctx.bootstrap.map(async (b) => {
        try {
          for (const a of await resolve(b.host)) out.push({ host: normalizeHost(a.address), port: b.port });
        } catch (e) {
          log('cannot resolve %s: %s', b.host, (e as Error).message);
        }
      }),
    );
    return out;
  }

  async lookup(
    family: Family,
    method: 'find_node' | 'get_peers',
    target: Buffer,
    extra: readonly LookupStart[] = [],
    onPeers?: (p: PeerAddress[]) => void,
    signal?: AbortSignal,
  ) {
    const table = this.ctx.tables.get(family);
    const now = this.ctx.now();
    const known = table ? table.closest(target, K * 2, now).map((c) => ({ id: c.id, host: c.host, port: c.port })) : [];
    let start: LookupStart[] = [...known, ...extra];
    if (start.length < K && extra.length === 0 && this.ctx.isClosed() === false) {
      start = [...start, ...(await this.resolveBootstrap()).filter((s) => familyOf(s.host) === family)];
    }
    this.ctx.counters.lookups++;
    const q: KrpcQuery = method === 'find_node' ? { method, target } : { method, infoHash: target };
    const res = await runLookup({
      target,
      ownId: this.ctx.id(),
      start,
      k: K,
      query: (n) => this.ctx.query(n.host, n.port, q),
      nodesOf: (r) => (family === 4 ? r.nodes ?? [] : r.nodes6 ?? []),
      ...(onPeers ? { onPeers } : {}),
      ...(signal ? { signal } : {}),
    });
    log('%s %s (IPv%d): %d queries, %d closest, %d peers', method, shortId(target), family, res.queries, res.closest.length, res.peers.length);
    return res;
  }

  /** One iterative get_peers lookup; peers reported as they arrive (onPeers) and all at the end. */
  async getPeers(infoHash: Buffer, opts: GetPeersOptions = {}): Promise<PeerAddress[]> {
    if (infoHash.length !== 20) throw new RangeError('info-hash must be 20 bytes');
    await this.ctx.ready();
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
    report(this.ctx.store.get(infoHash, this.ctx.now()));
    const results = await Promise.all([...this.ctx.tables.keys()].map((f) => this.lookup(f, 'get_peers', infoHash, [], report, opts.signal)));
    if (opts.announcePort !== undefined && !opts.signal?.aborted) {
      const announces: Promise<unknown>[] = [];
      for (const r of results) {
        for (const a of r.closest) {
          if (!a.token) continue;
          announces.push(
            this.ctx.query(a.node.host, a.node.port, {
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
    const t: Tracked = { infoHash, announcePort, onPeers, next: this.ctx.now(), running: false, abort: new AbortController() };
    this.tracked.add(t);
    this.runTracked(t);
    return {
      stop: () => {
        this.tracked.delete(t);
        t.abort.abort();
      },
    };
  }

  /** Starts the tracked torrents' lookups that are due. */
  runDueTracked(now: number): void {
    for (const t of this.tracked) if (!t.running && now >= t.next) this.runTracked(t);
  }

  /** Tracked torrents and when each runs next (for tests and `pytor peers`). */
  trackedSchedule(): { infoHash: string; next: number; running: boolean }[] {
    return [...this.tracked].map((t) => ({ infoHash: t.infoHash.toString('hex'), next: t.next, running: t.running }));
  }

  /** Aborts every tracked torrent's lookup and forgets them (the node closes). */
  stopTracking(): void {
    for (const t of this.tracked) t.abort.abort();
    this.tracked.clear();
  }

  private runTracked(t: Tracked): void {
    if (t.running || this.ctx.isClosed()) return;
    t.running = true;
    const opts = { onPeers: t.onPeers, signal: t.abort.signal, ...(t.announcePort !== undefined ? { announcePort: t.announcePort } : {}) };
    void this.getPeers(t.infoHash, opts)
      .catch((e: Error) => log('tracked lookup failed: %s', e.message))
      .finally(() => {
        t.running = false;
        const spread = ANNOUNCE_MAX_MS - ANNOUNCE_MIN_MS;
        t.next = this.ctx.now() + ANNOUNCE_MIN_MS + Math.floor((this.ctx.random(2).readUInt16BE(0) / 0x10000) * spread);
      });
  }
}
