import { formatAddress, type PeerAddress } from '../peer/address.js';
import type { Transport } from '../peer/stream.js';
import { PexFlags } from '../wire/index.js';

/** What we know of one peer address: whether to dial it, when, and whether it is banned. */
export interface PeerRecord {
  readonly address: PeerAddress;
  readonly label: string;
  failures: number;
  /** Not to be dialled before this time (ms since the epoch, the book's clock). */
  nextAttemptAt: number;
  banned: boolean;
  connected: boolean;
  /** False for a peer that reached us first: its source port is not one it listens on. */
  dialable: boolean;
  /** BEP 11 flags from the last PEX message that named this address; undefined: none did. */
  pexFlags: number | undefined;
  /** Why we think it speaks uTP: a PEX message said so (0x04), or it spoke uTP with us. */
  utp: 'pex' | 'connection' | undefined;
  /**
   * For a peer not known to speak uTP: uTP first on the next dial. Flipped after each failed
   * attempt, since a uTP-only peer (libtorrent with TCP off) accepts a TCP connection and
   * hangs up at once, which is no connect failure and so no reason to try uTP in that dial.
   */
  preferUtp: boolean;
}

/** An address with what came with it. */
export interface PeerHint extends PeerAddress {
  /** BEP 11 flags, when the address came in a PEX message. */
  readonly flags?: number;
  /** It spoke uTP with us before (a metadata fetch handing its peers on). */
  readonly utp?: boolean;
}

export interface DialChoice {
  readonly first: Transport;
  /** For the debug log: why this transport first. */
  readonly why: string;
}

/**
 * Which transport to dial a peer over first (the other follows in the same dial when the first
 * cannot connect, see peer/dial.ts): uTP for a peer known to speak it, TCP for the rest until
 * a TCP attempt has failed, then each in turn.
 */
export function dialChoice(record: PeerRecord, utpOn: boolean): DialChoice {
  if (!utpOn) return { first: 'tcp', why: 'uTP is off' };
  if (record.utp === 'pex') return { first: 'utp', why: 'PEX says it speaks uTP' };
  if (record.utp === 'connection') return { first: 'utp', why: 'it spoke uTP with us' };
  if (record.preferUtp) return { first: 'utp', why: 'the last attempt failed' };
  return { first: 'tcp', why: record.pexFlags === undefined ? 'nothing says it speaks uTP' : 'PEX does not say uTP' };
}

export interface PeerBookOptions {
  /** Addresses remembered at once; more are ignored (trackers and PEX hand them out forever). */
  readonly maxKnown: number;
  /** First retry delay after a failure; it doubles with each further failure. */
  readonly retryBaseMs: number;
  /** After this many failures in a row the address is given up on. */
  readonly maxFailures: number;
  /** Given up: forgotten (a tracker may hand it back) or banned (never dialled again). */
  readonly giveUp: 'forget' | 'ban';
  readonly now: () => number;
}

/**
 * The addresses a session (or a metadata fetch) may dial, with one retry policy for all:
 * exponential backoff, a bound on how many are remembered, bans that outlive failures.
 * No sockets here: the owner dials what takeDue() hands out and reports back.
 */
export class PeerBook {
  private readonly records = new Map<string, PeerRecord>();
  private readonly dialing = new Set<string>();

  constructor(private readonly options: PeerBookOptions) {}

  get size(): number {
    return this.records.size;
  }

  get dialingCount(): number {
    return this.dialing.size;
  }

  get(label: string): PeerRecord | undefined {
    return this.records.get(label);
  }

  values(): IterableIterator<PeerRecord> {
    return this.records.values();
  }

  /** Remembers a dialable address (from a tracker, the command line, PEX); bounded. */
  add(hint: PeerHint): void {
    const address = { host: hint.host, port: hint.port };
    const label = formatAddress(address);
    let record = this.records.get(label);
    if (record) record.dialable = true;
    else if (this.records.size >= this.options.maxKnown) return;
    else this.records.set(label, (record = newRecord(address, label, true)));
    if (hint.flags !== undefined) {
      record.pexFlags = hint.flags;
      // Only a yes is news: a sender that reached it over TCP does not show it lacks uTP.
      if (hint.flags & PexFlags.utp && record.utp === undefined) record.utp = 'pex';
    }
    if (hint.utp) record.utp = 'connection';
  }

  /** A connection to or from the record's address is up over `transport`. */
  connectedOver(record: PeerRecord, transport: Transport): void {
    if (transport === 'utp') record.utp = 'connection';
  }

  /**
   * The record for a peer that connected to us: known already, or new and not dialable.
   * Kept even past maxKnown, since connections are bounded on their own.
   */
  incoming(address: PeerAddress): PeerRecord {
    const label = formatAddress(address);
    let record = this.records.get(label);
    if (!record) this.records.set(label, (record = newRecord(address, label, false)));
    return record;
  }

  /** Up to `budget` records due for a dial, marked as being dialled until dialEnded(). */
  takeDue(budget: number, busy: (label: string) => boolean): PeerRecord[] {
    const now = this.options.now();
    const due: PeerRecord[] = [];
    for (const [label, r] of this.records) {
      if (due.length >= budget) break;
      if (!r.dialable || r.banned || r.connected || r.nextAttemptAt > now || this.dialing.has(label) || busy(label)) continue;
      this.dialing.add(label);
      due.push(r);
    }
    return due;
  }

  dialEnded(record: PeerRecord): void {
    this.dialing.delete(record.label);
  }

  /** A dial or handshake failed: back off, and give up after too many in a row. */
  failed(record: PeerRecord): void {
    // Known uTP peers stay uTP first (TCP follows in the dial); others take turns.
    if (record.utp === undefined) record.preferUtp = !record.preferUtp;
    record.failures++;
    record.nextAttemptAt = this.options.now() + this.options.retryBaseMs * 2 ** (record.failures - 1);
    if (record.failures < this.options.maxFailures) return;
    if (this.options.giveUp === 'ban') record.banned = true;
    // A banned peer stays known, so its ban outlives the failures.
    else if (!record.banned) this.records.delete(record.label);
  }

  /** Not to be dialled again before `delayMs` has passed (it was useless, or just closed). */
  retryAfter(record: PeerRecord, delayMs: number): void {
    record.nextAttemptAt = this.options.now() + delayMs;
  }

  /** Never dialled or accepted again, whether known before or not. */
  ban(label: string, address: PeerAddress = { host: '', port: 0 }): void {
    let record = this.records.get(label);
    if (!record) this.records.set(label, (record = newRecord(address, label, false)));
    record.banned = true;
  }

  isBanned(label: string): boolean {
    return this.records.get(label)?.banned ?? false;
  }

  forget(label: string): void {
    this.records.delete(label);
  }
}

function newRecord(address: PeerAddress, label: string, dialable: boolean): PeerRecord {
  return { address, label, failures: 0, nextAttemptAt: 0, banned: false, connected: false, dialable, pexFlags: undefined, utp: undefined, preferUtp: false };
}
