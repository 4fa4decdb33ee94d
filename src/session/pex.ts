/**
 * BEP 11 peer exchange bookkeeping, without sockets or timers: what to tell each peer
 * (the change in our peer set since the last message to it) and which received addresses
 * to accept. The session's extension layer calls these once a second and on each message.
 */
import { isIP } from 'node:net';
import { formatAddress, type PeerAddress } from '../peer/address.js';
import { PexFlags, type PexMessage, type PexPeer } from '../wire/index.js';

/** BEP 11: at most one message a minute to a peer (libtorrent disconnects faster senders). */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11: no more than 50 added and 50 dropped entries per message. */
export const MAX_PEX_ADDED = 50;
export const MAX_PEX_DROPPED = 50;
/** Messages from one peer closer together than this are ignored (a flood, not news). */
export const MIN_PEX_RECEIVE_INTERVAL_MS = 20_000;
/** Peers accepted from one PEX message. */
export const MAX_PEX_ACCEPT_PER_MESSAGE = 50;
/** Peers a session learns through PEX in all; beyond it PEX adds no more. */
export const MAX_PEX_LEARNED = 500;

/** What we know of a connected peer that BEP 11's `added.f` can say. */
export interface PexFacts {
  /** It speaks uTP: connected over uTP, or known to from before. */
  readonly utp: boolean;
  /** It has every piece. */
  readonly seed: boolean;
  /** We dialled it, so its address is reachable (a peer that dialled us may sit behind NAT). */
  readonly dialled: boolean;
  /** Its extended handshake said `e: 1`. */
  readonly prefersEncryption: boolean;
}

/** The `added.f` byte for a peer: 0x01 prefers encryption, 0x02 seed, 0x04 uTP, 0x10 reachable (BEP 11). */
export function pexFlagsFor(facts: PexFacts): number {
  return (
    (facts.prefersEncryption ? PexFlags.prefersEncryption : 0) |
    (facts.seed ? PexFlags.seed : 0) |
    (facts.utp ? PexFlags.utp : 0) |
    (facts.dialled ? PexFlags.outgoing : 0)
  );
}

/** What we last told one peer. */
export class PexOutbox {
  private sent = new Map<string, PeerAddress>();
  private lastAt = Number.NEGATIVE_INFINITY;

  /**
   * The message to send now, or undefined (too soon, or nothing changed). `current` maps
   * labels to the dialable addresses of our connected peers, the recipient excluded.
   */
  next(current: ReadonlyMap<string, PexPeer>, now: number): PexMessage | undefined {
    if (now - this.lastAt < PEX_INTERVAL_MS) return undefined;
    const added: PexPeer[] = [];
    const dropped: PeerAddress[] = [];
    for (const [label, peer] of current) {
      if (added.length >= MAX_PEX_ADDED) break;
      if (!this.sent.has(label)) added.push(peer);
    }
    for (const [label, peer] of this.sent) {
      if (dropped.length >= MAX_PEX_DROPPED) break;
      if (!current.has(label)) dropped.push(peer);
    }
    if (added.length === 0 && dropped.length === 0) return undefined;
    for (const p of added) this.sent.set(formatAddress(p), { host: p.host, port: p.port });
    for (const p of dropped) this.sent.delete(formatAddress(p));
    this.lastAt = now;
    return { added, dropped };
  }
}

/** Accepts PEX addresses under the bounds; one per session. */
export class PexInbox {
  private learned = 0;
  private readonly lastFrom = new Map<string, number>();

  /**
   * Addresses from one message worth dialling, with their flags (0 when the sender gave none);
   * [] when the sender is flooding or the budget is spent.
   */
  accept(from: PeerAddress, added: readonly (PeerAddress & { readonly flags?: number })[], now: number): PexPeer[] {
    const label = formatAddress(from);
    const last = this.lastFrom.get(label);
    if (last !== undefined && now - last < MIN_PEX_RECEIVE_INTERVAL_MS) return [];
    this.lastFrom.set(label, now);
    const fromLocal = isLoopback(from.host);
    const out: PexPeer[] = [];
    for (const p of added) {
      if (out.length >= MAX_PEX_ACCEPT_PER_MESSAGE || this.learned >= MAX_PEX_LEARNED) break;
      if (isIP(p.host) === 0 || p.port < 1 || p.port > 0xffff) continue;
      // A remote peer naming a loopback address points us at ourselves or at nothing.
      if (isLoopback(p.host) && !fromLocal) continue;
      if (isUnspecified(p.host)) continue;
      out.push({ host: p.host, port: p.port, flags: (p.flags ?? 0) & 0xff });
      this.learned++;
    }
    return out;
  }

  forget(from: PeerAddress): void {
    this.lastFrom.delete(formatAddress(from));
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}
