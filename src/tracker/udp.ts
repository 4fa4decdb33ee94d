// The BEP 15 I/O: one connected datagram socket per request, BEP 15 retransmission,
// connection ids cached per tracker address for a minute.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import createDebug from 'debug';
import { asTrackerError, TrackerError, type TrackerErrorCode } from './errors.js';
import { decodeUdpReply, encodeAnnounce, encodeConnect, encodeScrape, MAX_SCRAPE_HASHES, type UdpReply } from './udp-codec.js';
import { DEFAULT_TIMEOUT_MS, type AnnounceParams, type AnnounceResult, type RequestOptions, type ScrapeCounts } from './types.js';

const log = createDebug('pytor:tracker');

/** BEP 15: a connection id may be used for one minute after it was received. */
export const CONNECTION_ID_TTL_MS = 60_000;
const RETRY_BASE_MS = 15_000;
const MAX_RETRIES = 8;

/** Connection ids by tracker address; time is injectable so tests can expire entries. */
export class ConnectionIdCache {
  private readonly ids = new Map<string, { id: bigint; at: number }>();
  constructor(
    private readonly ttlMs = CONNECTION_ID_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): bigint | undefined {
    const entry = this.ids.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.ids.delete(key);
      return undefined;
    }
    return entry.id;
  }

  set(key: string, id: bigint): void {
    this.ids.set(key, { id, at: this.now() });
  }

  delete(key: string): void {
    this.ids.delete(key);
  }
}

const defaultCache = new ConnectionIdCache();

export async function udpAnnounce(
  url: string,
  params: AnnounceParams,
  opts: RequestOptions = {},
  cache: ConnectionIdCache = defaultCache,
): Promise<AnnounceResult> {
  return withTransport(url, opts, cache, async (t) => {
    const connectionId = await t.connectionId();
    const reply = await t.exchange((tid) => encodeAnnounce(connectionId, tid, params), 'announce');
    return {
      interval: reply.interval,
      complete: reply.seeders,
      incomplete: reply.leechers,
      peers: reply.peers,
    };
  });
}

export async function udpScrape(
  url: string,
  infoHashes: readonly Buffer[],
  opts: RequestOptions = {},
  cache: ConnectionIdCache = defaultCache,
): Promise<Map<string, ScrapeCounts>> {
  return withTransport(url, opts, cache, async (t) => {
    const out = new Map<string, ScrapeCounts>();
    for (let i = 0; i < infoHashes.length; i += MAX_SCRAPE_HASHES) {
      const chunk = infoHashes.slice(i, i + MAX_SCRAPE_HASHES);
      const connectionId = await t.connectionId();
      const reply = await t.exchange((tid) => encodeScrape(connectionId, tid, chunk), 'scrape');
      if (reply.stats.length < chunk.length) {
        throw new TrackerError('ETRACKER_BAD_REPLY', url, `scrape reply has ${reply.stats.length} entries for ${chunk.length} torrents`);
      }
      chunk.forEach((h, j) => out.set(h.toString('hex'), reply.stats[j]!));
    }
    return out;
  });
}

/** host and port of a udp:// URL; IPv6 hosts without brackets. */
export function parseUdpUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrackerError('ETRACKER_BAD_URL', url, 'not a valid URL');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port);
  if (!host) throw new TrackerError('ETRACKER_BAD_URL', url, 'no host');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TrackerError('ETRACKER_BAD_URL', url, 'a udp:// tracker URL needs a port');
  return { host, port };
}

async function withTransport<T>(
  url: string,
  opts: RequestOptions,
  cache: ConnectionIdCache,
  fn: (t: UdpTransport) => Promise<T>,
): Promise<T> {
  const t = new UdpTransport(url, opts, cache);
  try {
    await t.open();
    return await fn(t);
  } catch (err) {
    throw asTrackerError(err, url);
  } finally {
    t.close();
  }
}

type ReplyOf<A extends UdpReply['action']> = Extract<UdpReply, { action: A }>;

class UdpTransport {
  private socket: dgram.Socket | undefined;
  private ipv6 = false;
  private cacheKey = '';
  private readonly deadline: number;
  private readonly timeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly maxRetries: number;
  /** Every transaction id sent on this socket: late replies to them are ignored, others are an error. */
  private readonly sent = new Set<number>();
  private waiter: { tid: number; resolve: (r: UdpReply) => void; reject: (e: Error) => void } | undefined;
  /** A failure seen while nothing was waiting; the next wait reports it. */
  private failure: TrackerError | undefined;
  /** Rejects the step in race(), so a cancel or socket error ends it at once. */
  private racing: ((err: TrackerError) => void) | undefined;
  private readonly onAbort = () => this.fail(this.error('ETRACKER_ABORTED', 'request cancelled'));

  constructor(
    private readonly url: string,
    private readonly opts: RequestOptions,
    private readonly cache: ConnectionIdCache,
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.deadline = Date.now() + this.timeoutMs;
    this.retryBaseMs = opts.udpRetryBaseMs ?? RETRY_BASE_MS;
    this.maxRetries = Math.min(opts.udpMaxRetries ?? MAX_RETRIES, MAX_RETRIES);
  }

  private error(code: TrackerErrorCode, detail: string): TrackerError {
    return new TrackerError(code, this.url, detail);
  }

  async open(): Promise<void> {
    if (this.opts.signal?.aborted) throw this.error('ETRACKER_ABORTED', 'request cancelled');
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    const { host, port } = parseUdpUrl(this.url);
    const resolved = isIP(host) ? { address: host, family: isIP(host) } : await this.race(lookup(host), 'host lookup');
    this.ipv6 = resolved.family === 6;
    this.cacheKey = `${resolved.address}|${port}`;
    const socket = dgram.createSocket(this.ipv6 ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('message', (msg) => this.onMessage(msg));
    socket.on('error', (err) => this.fail(asTrackerError(err, this.url)));
    // A connected socket only delivers datagrams from the tracker's address and port.
    await this.race(
      new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(port, resolved.address, () => {
          socket.off('error', reject);
          resolve();
        });
      }),
      'connect',
    );
  }

  close(): void {
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.waiter = undefined;
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
  }

  async connectionId(): Promise<bigint> {
    const cached = this.cache.get(this.cacheKey);
    if (cached !== undefined) return cached;
    const reply = await this.exchange((tid) => encodeConnect(tid), 'connect');
    this.cache.set(this.cacheKey, reply.connectionId);
    return reply.connectionId;
  }

  /** Sends a request, retransmitting after 15 * 2^n s (BEP 15), until the reply or the deadline. */
  async exchange<A extends 'connect' | 'announce' | 'scrape'>(build: (tid: number) => Buffer, action: A): Promise<ReplyOf<A>> {
    const tid = randomBytes(4).readUInt32BE(0);
    this.sent.add(tid);
    const packet = build(tid);
    for (let n = 0; n <= this.maxRetries; n++) {
      await this.send(packet);
      const reply = await this.wait(tid, this.retryBaseMs * 2 ** n);
      if (reply === undefined) {
        log('udp %s: no %s reply, retransmitting (n=%d)', this.url, action, n + 1);
        continue;
      }
      if (reply.action !== action) {
        throw this.error('ETRACKER_BAD_REPLY', `sent ${action}, got a ${reply.action} reply`);
      }
      return reply as ReplyOf<A>;
    }
    // The connection id may have expired at the tracker without it telling us.
    this.cache.delete(this.cacheKey);
    throw this.error('ETRACKER_TIMEOUT', `no ${action} reply after ${this.maxRetries + 1} tries`);
  }

  private send(packet: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.socket;
      if (!socket) return reject(this.error('ETRACKER_NETWORK', 'socket not open'));
      socket.send(packet, (err) => (err ? reject(asTrackerError(err, this.url)) : resolve()));
    });
  }

  /** The reply to `tid`, or undefined when `ms` passes first; throws at the overall deadline. */
  private wait(tid: number, ms: number): Promise<UdpReply | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const left = this.deadline - Date.now();
    return new Promise((resolve, reject) => {
      const atDeadline = left <= ms;
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          if (atDeadline) reject(this.error('ETRACKER_TIMEOUT', `no reply within ${this.timeoutMs / 1000}s`));
          else resolve(undefined);
        },
        Math.max(0, Math.min(ms, left)),
      );
      this.waiter = {
        tid,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onMessage(msg: Buffer): void {
    const reply = decodeUdpReply(msg, this.ipv6);
    if (reply.action === 'invalid') return this.fail(this.error('ETRACKER_BAD_REPLY', reply.reason));
    if (reply.action === 'error') return this.fail(this.error('ETRACKER_FAILURE', `tracker says: ${reply.message || 'error (no message)'}`));
    if (reply.action === 'refused') {
      return this.fail(this.error('ETRACKER_FAILURE', 'tracker refused the announce (an empty reply, as opentracker sends for torrents it does not track)'));
    }
    const w = this.waiter;
    if (w && reply.transactionId === w.tid) {
      this.waiter = undefined;
      return w.resolve(reply);
    }
    if (this.sent.has(reply.transactionId)) return; // a late duplicate of an earlier exchange
    this.fail(this.error('ETRACKER_BAD_REPLY', `reply carries transaction id ${reply.transactionId}, not one we sent`));
  }

  private fail(err: TrackerError): void {
    const w = this.waiter;
    this.waiter = undefined;
    this.racing?.(err);
    if (w) w.reject(err);
    else this.failure ??= err;
  }

  /** Bounds a step that has no timeout of its own (DNS, bind) by the overall deadline. */
  private race<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.racing = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(
        () => reject(this.error('ETRACKER_TIMEOUT', `${what} took longer than ${this.timeoutMs / 1000}s`)),
        Math.max(0, this.deadline - Date.now()),
      );
      p.then(
        (v) => {
          clearTimeout(timer);
          this.racing = undefined;
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          this.racing = undefined;
          reject(e);
        },
      );
    });
  }
}
