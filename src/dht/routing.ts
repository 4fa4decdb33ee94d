/**
 * The Kademlia routing table of BEP 5: buckets of at most k nodes by XOR distance from our
 * id; only the bucket that holds our own id splits, so the table knows many nodes near us and
 * a few far away. Pure: time is passed in, nothing is sent from here; the node acts on what
 * `heard` returns (ping questionable nodes, ping a newcomer before trusting it).
 */
import { commonPrefixLength, ID_BITS, distance, idToBigInt, randomIdWithPrefix, type RandomBytes } from './id.js';
import type { NodeInfo } from './compact.js';

export const K = 8;
/** A node that answered within this long is good (BEP 5). */
export const GOOD_FOR_MS = 15 * 60_000;
/** Buckets untouched this long are refreshed with a lookup of a random id inside them. */
export const REFRESH_AFTER_MS = 15 * 60_000;
/** Queries in a row a node may fail before it is bad and may be replaced. */
export const BAD_AFTER_FAILURES = 2;

export type NodeState = 'good' | 'questionable' | 'bad';

export interface Contact {
  readonly id: Buffer;
  readonly host: string;
  readonly port: number;
  /** When it last answered one of our queries. */
  lastReply: number;
  /** When it last sent us a query (0: never). */
  lastQuery: number;
  /** Queries in a row it did not answer. */
  failures: number;
  /** Whether its id fits its IP under BEP 42 (preferred, never required). */
  readonly secure: boolean;
}

interface Bucket {
  contacts: Contact[];
  /** Verified nodes waiting for a place: newest last, at most K. */
  replacements: Contact[];
  lastChanged: number;
}

export type HeardResult =
  /** Added to or updated in the table. */
  | { readonly action: 'added' | 'updated' }
  /** Unknown node that only queried us: ping it, add it when it answers. */
  | { readonly action: 'verify' }
  /** Bucket full: the newcomer waits as a replacement; ping these questionable nodes. */
  | { readonly action: 'full'; readonly ping: readonly Contact[] }
  /** Our own id, or an id that would move to another address: ignored. */
  | { readonly action: 'ignored' };

const key = (host: string, port: number): string => `${host}|${port}`;

export class RoutingTable {
  private buckets: Bucket[];
  private readonly byAddress = new Map<string, Contact>();

  constructor(
    readonly ownId: Buffer,
    now: number,
    private readonly k = K,
  ) {
    this.buckets = [{ contacts: [], replacements: [], lastChanged: now }];
  }

  get size(): number {
    return this.byAddress.size;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  state(c: Contact, now: number): NodeState {
    if (c.failures >= BAD_AFTER_FAILURES) return 'bad';
    // Every contact answered at least once (only answers let a node in).
    if (now - Math.max(c.lastReply, c.lastQuery) < GOOD_FOR_MS) return 'good';
    return 'questionable';
  }

  goodCount(now: number): number {
    let n = 0;
    for (const c of this.byAddress.values()) if (this.state(c, now) === 'good') n++;
    return n;
  }

  all(): Contact[] {
    return [...this.byAddress.values()];
  }

  find(host: string, port: number): Contact | undefined {
    return this.byAddress.get(key(host, port));
  }

  private bucketOf(id: Uint8Array): Bucket {
    const i = Math.min(commonPrefixLength(this.ownId, id), this.buckets.length - 1);
    return this.buckets[i]!;
  }

  /**
   * A node sent us a reply (verified: matched by transaction id and address) or a query.
   * Only verified nodes enter the table; a querier is answered with 'verify'.
   */
  heard(node: NodeInfo, kind: 'reply' | 'query', now: number, secure: boolean): HeardResult {
    if (node.id.equals(this.ownId)) return { action: 'ignored' };
    const existing = this.byAddress.get(key(node.host, node.port));
    if (existing) {
      if (!existing.id.equals(node.id)) {
        // The same address with another id: a restarted node. Believe it only when it answered us.
        if (kind !== 'reply') return { action: 'ignored' };
        this.remove(existing);
      } else {
        if (kind === 'reply') {
          existing.lastReply = now;
          existing.failures = 0;
        } else existing.lastQuery = now;
        this.bucketOf(node.id).lastChanged = now;
        return { action: 'updated' };
      }
    }
    const bucket = this.bucketOf(node.id);
    if (bucket.contacts.some((c) => c.id.equals(node.id))) return { action: 'ignored' }; // an id may not move
    if (kind === 'query') return { action: 'verify' };
    const contact: Contact = { id: node.id, host: node.host, port: node.port, lastReply: now, lastQuery: 0, failures: 0, secure };
    return this.insert(contact, now);
  }

  private insert(contact: Contact, now: number): HeardResult {
    for (;;) {
      const index = Math.min(commonPrefixLength(this.ownId, contact.id), this.buckets.length - 1);
      const bucket = this.buckets[index]!;
      if (bucket.contacts.length < this.k) {
        this.place(bucket, contact, now);
        return { action: 'added' };
      }
      if (index === this.buckets.length - 1 && this.buckets.length < ID_BITS) {
        this.split(now);
        continue;
      }
      const bad = bucket.contacts.find((c) => this.state(c, now) === 'bad');
      // BEP 42 as a preference: a node whose id fits its IP may take the place of one that does not.
      const displaced = bad ?? (contact.secure ? bucket.contacts.find((c) => !c.secure && this.state(c, now) !== 'good') : undefined);
      if (displaced) {
        this.remove(displaced);
        this.place(bucket, contact, now);
        return { action: 'added' };
      }
      bucket.replacements = bucket.replacements.filter((c) => !c.id.equals(contact.id) && !(c.host === contact.host && c.port === contact.port));
      bucket.replacements.push(contact);
      if (bucket.replacements.length > this.k) bucket.replacements.shift();
      return { action: 'full', ping: bucket.contacts.filter((c) => this.state(c, now) === 'questionable') };
    }
  }

  private place(bucket: Bucket, contact: Contact, now: number): void {
    bucket.contacts.push(contact);
    bucket.lastChanged = now;
    this.byAddress.set(key(contact.host, contact.port), contact);
  }

  private split(now: number): void {
    const last = this.buckets[this.buckets.length - 1]!;
    const depth = this.buckets.length - 1;
    const near: Bucket = { contacts: [], replacements: [], lastChanged: now };
    const far: Bucket = { contacts: [], replacements: [], lastChanged: last.lastChanged };
    for (const c of last.contacts) (commonPrefixLength(this.ownId, c.id) > depth ? near : far).contacts.push(c);
    for (const c of last.replacements) (commonPrefixLength(this.ownId, c.id) > depth ? near : far).replacements.push(c);
    this.buckets[depth] = far;
    this.buckets.push(near);
  }

  private remove(c: Contact): void {
    this.byAddress.delete(key(c.host, c.port));
    const bucket = this.bucketOf(c.id);
    bucket.contacts = bucket.contacts.filter((x) => x !== c);
  }

  /** A query to this address timed out; a bad node gives its place to the best replacement. */
  failed(host: string, port: number, now: number): void {
    const c = this.byAddress.get(key(host, port));
    if (!c) return;
    c.failures++;
    if (this.state(c, now) !== 'bad') return;
    const bucket = this.bucketOf(c.id);
    if (bucket.replacements.length === 0) return;
    // Secure replacements first, then the most recently heard.
    const best = [...bucket.replacements].sort((a, b) => Number(b.secure) - Number(a.secure) || b.lastReply - a.lastReply)[0]!;
    bucket.replacements = bucket.replacements.filter((x) => x !== best);
    this.remove(c);
    this.place(bucket, best, now);
  }

  /** The `n` known nodes closest to `target`, bad ones left out. */
  closest(target: Uint8Array, n: number, now: number): Contact[] {
    const t = idToBigInt(target);
    return this.all()
      .filter((c) => this.state(c, now) !== 'bad')
      .map((c) => ({ c, d: idToBigInt(c.id) ^ t }))
      .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
      .slice(0, n)
      .map((x) => x.c);
  }

  /**
   * Random lookup targets for buckets untouched for REFRESH_AFTER_MS; each such bucket is
   * marked as refreshed now, so a tick does not ask twice.
   */
  refreshTargets(now: number, random: RandomBytes): Buffer[] {
    const out: Buffer[] = [];
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged < REFRESH_AFTER_MS) return;
      b.lastChanged = now;
      // Bucket i < last holds ids sharing exactly i bits with ours; the last holds >= i.
      out.push(randomIdWithPrefix(this.ownId, i === this.buckets.length - 1 ? Math.min(i + 1, ID_BITS) : i, random));
    });
    return out;
  }

  /** Questionable nodes worth a ping (to learn whether they are still there). */
  questionable(now: number): Contact[] {
    return this.all().filter((c) => this.state(c, now) === 'questionable');
  }
}

export { distance };
