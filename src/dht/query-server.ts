/**
 * The serving side of a DHT node: answers other nodes' queries (BEP 5 ping, find_node,
 * get_peers with a token, announce_peer checked against that token; BEP 32 `want`), within
 * the per-address rate limits, and stores the peers announced to us.
 */
import createDebug from 'debug';
import { familyOf, type Family, type NodeInfo } from './compact.js';
import { shortId } from './id.js';
import { KRPC_METHOD_UNKNOWN, KRPC_PROTOCOL, type KrpcMessage, type KrpcQueryMessage, type KrpcReplyMessage } from './krpc.js';
import { VERSION } from './krpc-socket.js';
import type { PeerStore } from './peer-store.js';
import type { RateLimiter } from './rate-limit.js';
import { K, type RoutingTable } from './routing.js';
import type { TokenIssuer } from './token.js';

const log = createDebug('pytor:dht');

export interface QueryServerContext {
  now(): number;
  /** Our node id as of now (BEP 42 may change it). */
  id(): Buffer;
  /** The routing table of each family the node speaks (replaced when our id changes). */
  readonly tables: ReadonlyMap<Family, RoutingTable>;
  readonly store: PeerStore;
  readonly tokens: TokenIssuer;
  readonly limiter: RateLimiter;
  send(msg: KrpcMessage, host: string, port: number): void;
  /** The asker, for the routing table (it may be a node worth keeping). */
  heard(node: NodeInfo, kind: 'query'): void;
  /** Shared with the node's other counters (stats). */
  readonly counters: { rateLimited: number; queriesAnswered: number };
}

export class QueryServer {
  constructor(private readonly ctx: QueryServerContext) {}

  answer(msg: KrpcQueryMessage, host: string, port: number): void {
    const ctx = this.ctx;
    const now = ctx.now();
    if (!ctx.limiter.allow(host, now)) {
      ctx.counters.rateLimited++;
      return;
    }
    log('<- %s from %s:%d id %s', msg.query.method, host, port, shortId(msg.id));
    const reply = (r: Omit<KrpcReplyMessage, 'y' | 't' | 'id' | 'ip'>) => {
      ctx.counters.queriesAnswered++;
      ctx.send({ y: 'r', t: msg.t, v: VERSION, id: ctx.id(), ip: { host, port }, ...r }, host, port);
    };
    const error = (code: number, message: string) => ctx.send({ y: 'e', t: msg.t, v: VERSION, code, message }, host, port);
    const q = msg.query;
    switch (q.method) {
      case 'ping':
        reply({});
        break;
      case 'find_node':
        reply(this.nodesFor(q.target, msg.want, host));
        break;
      case 'get_peers': {
        const values = ctx.store.get(q.infoHash, now);
        reply({ token: ctx.tokens.issue(host, now), ...(values.length > 0 ? { values } : {}), ...this.nodesFor(q.infoHash, msg.want, host) });
        break;
      }
      case 'announce_peer': {
        if (!ctx.tokens.check(q.token, host, now)) {
          error(KRPC_PROTOCOL, 'bad token');
          break;
        }
        const peerPort = q.impliedPort ? port : q.port;
        ctx.store.add(q.infoHash, { host, port: peerPort }, now);
        log('stored peer %s:%d for %s', host, peerPort, q.infoHash.toString('hex'));
        reply({});
        break;
      }
      case 'unknown':
        error(KRPC_METHOD_UNKNOWN, 'Method Unknown');
        break;
    }
    // BEP 43: a read-only node asks but must not be asked, so it stays out of the table.
    if (!msg.readOnly) ctx.heard({ id: msg.id, host, port }, 'query');
  }

  /** The K closest nodes we know to `target`, in the families asked for (BEP 32), else the asker's. */
  private nodesFor(target: Buffer, want: readonly Family[] | undefined, asker: string): { nodes?: NodeInfo[]; nodes6?: NodeInfo[] } {
    const families = want && want.length > 0 ? want : [familyOf(asker)];
    const now = this.ctx.now();
    const out: { nodes?: NodeInfo[]; nodes6?: NodeInfo[] } = {};
    for (const f of families) {
      const table = this.ctx.tables.get(f);
      const list = table ? table.closest(target, K, now).map((c) => ({ id: c.id, host: c.host, port: c.port })) : [];
      if (f === 4) out.nodes = list;
      else out.nodes6 = list;
    }
    return out;
  }
}
