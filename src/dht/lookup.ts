/**
 * One iterative Kademlia lookup (BEP 5 get_peers / find_node): ask the closest known nodes,
 * alpha at a time, learn closer ones from their replies, and stop when the k closest nodes
 * known have all answered. The sending is a function passed in, so this runs without sockets.
 */
import type { PeerAddress } from '../wire/address.js';
import { ID_BITS, idToBigInt } from './id.js';
import type { NodeInfo } from './compact.js';
import type { KrpcReplyMessage } from './krpc.js';

export const ALPHA = 3;
/** Candidates remembered per lookup; farther ones beyond this are forgotten. */
export const MAX_CANDIDATES = 128;
/** Queries one lookup may send at most, whatever the replies say. */
export const MAX_QUERIES = 150;
/** Peers one lookup collects at most. */
export const MAX_LOOKUP_PEERS = 2000;

/** A node to ask; routers and saved nodes may come without a (trusted) id. */
export interface LookupStart {
  readonly id?: Buffer;
  readonly host: string;
  readonly port: number;
}

export interface LookupOptions {
  readonly target: Buffer;
  readonly ownId: Buffer;
  readonly start: readonly LookupStart[];
  /** Sends the query to one node; resolves with its reply, or undefined (timeout, error, closed). */
  readonly query: (node: LookupStart) => Promise<KrpcReplyMessage | undefined>;
  /** Which nodes of a reply to follow (the lookup's family). */
  readonly nodesOf: (reply: KrpcReplyMessage) => readonly NodeInfo[];
  readonly onPeers?: (peers: PeerAddress[]) => void;
  readonly signal?: AbortSignal;
  readonly k: number;
  readonly alpha?: number;
  readonly maxQueries?: number;
}

export interface Answered {
  readonly node: NodeInfo;
  readonly token?: Buffer;
}

export interface LookupResult {
  /** The k closest nodes that answered, closest first (with their tokens, for announce_peer). */
  readonly closest: Answered[];
  readonly peers: PeerAddress[];
  readonly queries: number;
}

interface Candidate {
  id?: Buffer;
  d: bigint;
  readonly host: string;
  readonly port: number;
  state: 'new' | 'pending' | 'answered' | 'failed';
  token?: Buffer;
}

const FAR = 1n << BigInt(ID_BITS); // farther than any id: nodes whose id we do not know yet

export function runLookup(opts: LookupOptions): Promise<LookupResult> {
  const alpha = opts.alpha ?? ALPHA;
  const maxQueries = opts.maxQueries ?? MAX_QUERIES;
  const target = idToBigInt(opts.target);
  const candidates: Candidate[] = [];
  const seenAddr = new Set<string>();
  const seenId = new Set<string>();
  const peers = new Map<string, PeerAddress>();
  let inFlight = 0;
  let queries = 0;

  const add = (n: LookupStart): void => {
    if (n.id?.equals(opts.ownId)) return;
    const a = `${n.host}|${n.port}`;
    const idHex = n.id?.toString('hex');
    if (seenAddr.has(a) || (idHex && seenId.has(idHex))) return;
    seenAddr.add(a);
    if (idHex) seenId.add(idHex);
    candidates.push({ ...(n.id ? { id: n.id } : {}), d: n.id ? idToBigInt(n.id) ^ target : FAR, host: n.host, port: n.port, state: 'new' });
  };
  for (const s of opts.start) add(s);

  const sortAndTrim = (): void => {
    candidates.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    // Forget far candidates not asked yet; keep everything asked (pending ones resolve later).
    while (candidates.length > MAX_CANDIDATES) {
      let i = candidates.length - 1;
      while (i >= 0 && candidates[i]!.state !== 'new' && candidates[i]!.state !== 'failed') i--;
      if (i < 0) break;
      candidates.splice(i, 1);
    }
  };

  return new Promise<LookupResult>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      opts.signal?.removeEventListener('abort', finish);
      const closest = candidates
        .filter((c) => c.state === 'answered' && c.id)
        .slice(0, opts.k)
        .map((c) => ({ node: { id: c.id!, host: c.host, port: c.port }, ...(c.token ? { token: c.token } : {}) }));
      resolve({ closest, peers: [...peers.values()], queries });
    };
    opts.signal?.addEventListener('abort', finish);

    const pump = (): void => {
      if (finished) return;
      if (opts.signal?.aborted) return finish();
      sortAndTrim();
      const live = candidates.filter((c) => c.state !== 'failed');
      const top = live.slice(0, opts.k);
      if (top.length > 0 && top.every((c) => c.state === 'answered')) return finish();
      for (const c of top) {
        if (inFlight >= alpha || queries >= maxQueries) break;
        if (c.state === 'new') send(c);
      }
      if (inFlight === 0) finish(); // nothing left to ask (or the query budget is spent)
    };

    const send = (c: Candidate): void => {
      c.state = 'pending';
      inFlight++;
      queries++;
      opts
        .query({ ...(c.id ? { id: c.id } : {}), host: c.host, port: c.port })
        .then(
          (reply) => onReply(c, reply),
          () => onReply(c, undefined),
        );
    };

    const onReply = (c: Candidate, reply: KrpcReplyMessage | undefined): void => {
      inFlight--;
      if (finished) return;
      if (!reply || (c.id && !reply.id.equals(c.id) && c.d !== FAR)) {
        // No answer, or an answer under another id than the one we were told: not trusted.
        c.state = 'failed';
      } else {
        c.state = 'answered';
        if (!c.id) {
          c.id = reply.id;
          c.d = idToBigInt(reply.id) ^ target;
          seenId.add(reply.id.toString('hex'));
        }
        if (reply.token) c.token = reply.token;
        if (reply.values && reply.values.length > 0) {
          const fresh: PeerAddress[] = [];
          for (const p of reply.values) {
            const key = `${p.host}|${p.port}`;
            if (peers.has(key) || peers.size >= MAX_LOOKUP_PEERS) continue;
            peers.set(key, p);
            fresh.push(p);
          }
          if (fresh.length > 0) opts.onPeers?.(fresh);
        }
        for (const n of opts.nodesOf(reply)) add(n);
      }
      pump();
    };

    pump();
  });
}
