/**
 * Peers other nodes announced to us (announce_peer), served back in get_peers replies.
 * Bounded per info-hash and in total, each entry expiring 30 minutes after its last announce,
 * so a flood of announces cannot grow memory.
 */
import type { PeerAddress } from '../wire/address.js';

export const PEER_TTL_MS = 30 * 60_000;
export const MAX_PEERS_PER_HASH = 200;
export const MAX_PEERS_TOTAL = 20_000;
export const MAX_INFO_HASHES = 2_000;
/** Most values in one get_peers reply: ~50 x 8 bytes keeps it inside one MTU. */
export const MAX_VALUES_PER_REPLY = 50;

export interface PeerStoreLimits {
  readonly perHash: number;
  readonly total: number;
  readonly hashes: number;
  readonly ttlMs: number;
}

export class PeerStore {
  // infoHash hex -> "host|port" -> entry. Map order is insertion order: oldest first.
  private readonly byHash = new Map<string, Map<string, { addr: PeerAddress; expires: number }>>();
  private total = 0;
  private readonly limits: PeerStoreLimits;

  constructor(limits: Partial<PeerStoreLimits> = {}) {
    this.limits = { perHash: MAX_PEERS_PER_HASH, total: MAX_PEERS_TOTAL, hashes: MAX_INFO_HASHES, ttlMs: PEER_TTL_MS, ...limits };
  }

  get size(): number {
    return this.total;
  }

  get infoHashCount(): number {
    return this.byHash.size;
  }

  /** Records an announce; returns false when a bound refused it. */
  add(infoHash: Buffer, addr: PeerAddress, now: number): boolean {
    const h = infoHash.toString('hex');
    let peers = this.byHash.get(h);
    if (!peers) {
      if (this.byHash.size >= this.limits.hashes) return false;
      peers = new Map();
      this.byHash.set(h, peers);
    }
    const k = `${addr.host}|${addr.port}`;
    if (peers.delete(k)) this.total--;
    else if (peers.size >= this.limits.perHash) {
      // The least recently announced peer of this torrent gives way.
      const oldest = peers.keys().next().value as string;
      peers.delete(oldest);
      this.total--;
    } else if (this.total >= this.limits.total) {
      if (peers.size === 0) this.byHash.delete(h);
      return false;
    }
    peers.set(k, { addr: { host: addr.host, port: addr.port }, expires: now + this.limits.ttlMs });
    this.total++;
    return true;
  }

  /** Up to `max` live peers of `infoHash`, the most recently announced first. */
  get(infoHash: Buffer, now: number, max = MAX_VALUES_PER_REPLY): PeerAddress[] {
    const peers = this.byHash.get(infoHash.toString('hex'));
    if (!peers) return [];
    const out: PeerAddress[] = [];
    for (const e of [...peers.values()].reverse()) {
      if (out.length >= max) break;
      if (e.expires > now) out.push(e.addr);
    }
    return out;
  }

  /** Drops expired entries (called from the node's periodic tick). */
  sweep(now: number): void {
    for (const [h, peers] of this.byHash) {
      for (const [k, e] of peers) {
        if (e.expires <= now) {
          peers.delete(k);
          this.total--;
        }
      }
      if (peers.size === 0) this.byHash.delete(h);
    }
  }
}
