/**
 * The engine: many torrents in one process, one listening port for all of them (incoming
 * handshakes routed by info-hash), one peer id, and the state folder. Front ends (the CLI
 * commands, the daemon) add torrents and print what the events say; policy lives here and in
 * torrent.ts, never in a front end.
 *
 * Events: `added` (torrent), `metadata` (torrent), `complete` (torrent), `torrent-error` (torrent, err),
 * `removed` (torrent). Each ClientTorrent emits its own finer events (torrent.ts).
 */
import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import type { DhtNode } from '../dht/index.js';
import type { Magnet } from '../magnet/index.js';
import type { EncryptionPolicy } from '../mse/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { Torrent } from '../metainfo/index.js';
import { TokenBucket } from '../session/bandwidth.js';
import { PeerListener } from '../session/listener.js';
import { makePeerId } from '../tracker/index.js';
import { ResumeStore } from './state-dir.js';
import { dhtStateFile, UdpSide } from './udp.js';
import { ClientTorrent, type AddOptions, type TorrentSource } from './torrent.js';

const log = createDebug('pytor:client');

export interface ClientOptions {
  /** Where resume data lives (see defaultStateDir). */
  readonly stateDir: string;
  /** TCP port for incoming peers (a free one when taken; 0: any). */
  readonly port: number;
  /** Address to listen on (default: all, IPv4 and IPv6). */
  readonly bind?: string;
  /** False: no listening socket at all (port 0 told to trackers). */
  readonly listen?: boolean;
  readonly peerId?: Buffer;
  readonly now?: () => number;
  /** The DHT (BEP 5), shared by every public torrent; absent: off. */
  readonly dht?: ClientDhtOptions;
  /** Protocol encryption (MSE/PE), both ways (default 'prefer'). */
  readonly encryption?: EncryptionPolicy;
  /** uTP (BEP 29) beside TCP, on the same port number (default true). */
  readonly utp?: boolean;
  /** Most peer connections of all torrents together (transfers; metadata fetches not counted). */
  readonly maxConnections?: number;
  /** Download limit in bytes per second across every torrent, peer and web seed (0 or absent: none). */
  readonly limitDown?: number;
  /** Upload limit in bytes per second across every torrent and peer (0 or absent: none). */
  readonly limitUp?: number;
}

export interface ClientDhtOptions {
  /** UDP port (default: the TCP listen port; a free one when taken). */
  readonly port?: number;
  /** Where to join the DHT when the saved table is empty (public routers by host name, or loopback in tests). */
  readonly bootstrap: readonly PeerAddress[];
}

export class DuplicateTorrentError extends Error {
  readonly code = 'EDUPLICATE';
  constructor(readonly infoHashHex: string) {
    super(`torrent ${infoHashHex} is already added`);
    this.name = 'DuplicateTorrentError';
  }
}

export class Client extends EventEmitter {
  readonly peerId: Buffer;
  readonly resume: ResumeStore;
  private readonly torrents = new Map<string, ClientTorrent>();
  private closing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly slots: { free(): number } | undefined;
  /** One token bucket per direction, shared by every session (rate 0: unlimited). */
  readonly bandwidth: { readonly down: TokenBucket; readonly up: TokenBucket };

  private constructor(
    readonly options: ClientOptions,
    private readonly listener: PeerListener | undefined,
    /** The port peers reach us on (0 when not listening). */
    readonly port: number,
    /** uTP and the DHT: the UDP port. */
    private readonly udp: UdpSide,
  ) {
    super();
    this.peerId = options.peerId ?? makePeerId();
    this.resume = new ResumeStore(options.stateDir);
    this.now = options.now ?? Date.now;
    const max = options.maxConnections;
    this.slots = max === undefined ? undefined : { free: () => max - this.connectionCount() };
    this.bandwidth = { down: new TokenBucket(options.limitDown ?? 0), up: new TokenBucket(options.limitUp ?? 0) };
  }

  /** Peer connections open or being dialled, over every torrent's transfer. */
  connectionCount(): number {
    let n = 0;
    for (const t of this.torrents.values()) n += t.session?.connectionCount ?? 0;
    return n;
  }

  static async open(options: ClientOptions): Promise<Client> {
    let client: Client | undefined;
    const route = (hex: string) => {
      const t = client?.torrents.get(hex);
      return t ? t.acceptIncoming.bind(t) : undefined;
    };
    const listener =
      options.listen === false
        ? undefined
        : new PeerListener(route, {
            encryption: options.encryption ?? 'prefer',
            infoHashes: () => client?.list().map((t) => t.infoHash) ?? [],
          });
    const port = listener ? await listener.listen(options.port, options.bind) : 0;
    let udp: UdpSide;
    try {
      udp = await UdpSide.open({
        port: options.dht?.port ?? port,
        bind: options.bind,
        // Incoming uTP needs a listener to hand connections to.
        utp: options.utp !== false && listener !== undefined,
        dht: options.dht ? { bootstrap: options.dht.bootstrap, stateFile: dhtStateFile(options.stateDir) } : undefined,
      });
    } catch (err) {
      await listener?.close();
      throw err;
    }
    if (listener) udp.onUtpConnection((stream) => listener.accept(stream));
    client = new Client(options, listener, port, udp);
    return client;
  }

  /** Adds a torrent and starts it; `torrent.start()`'s promise is the caller's to await. */
  add(source: { torrent: Torrent } | { magnet: Magnet }, options: AddOptions): ClientTorrent {
    if (this.closing) throw new Error('client is closing');
    const src: TorrentSource = source;
    const hex = 'torrent' in src ? src.torrent.infoHashHex : src.magnet.infoHashHex;
    if (this.torrents.has(hex)) throw new DuplicateTorrentError(hex);
    const t = this.make(src, options);
    this.emit('added', t);
    log('added %s', hex);
    return t;
  }

  /** The DHT node, when on; its table is kept in the state folder (dht.dat). */
  get dht(): DhtNode | undefined {
    return this.udp.dht;
  }

  /** The UDP port of uTP and the DHT (0 when neither is on). */
  get udpPort(): number {
    return this.udp.port;
  }

  private make(source: TorrentSource, options: AddOptions): ClientTorrent {
    const t = new ClientTorrent(source, options, {
      peerId: this.peerId,
      port: () => this.port,
      resume: this.resume,
      now: this.now,
      dht: this.dht,
      connectionSlots: this.slots,
      bandwidth: this.bandwidth,
      encryption: this.options.encryption ?? 'prefer',
      utp: this.udp.utpEnabled ? (address, timeoutMs) => this.udp.connectUtp(address, timeoutMs) : undefined,
    });
    this.torrents.set(t.infoHashHex, t);
    t.on('metadata', () => this.emit('metadata', t));
    t.on('complete', () => this.emit('complete', t));
    // Not 'error': an EventEmitter throws an 'error' nobody listens to, and a torrent's failure is not the client's.
    t.on('error', (err: Error) => this.emit('torrent-error', t, err));
    return t;
  }

  /**
   * A ClientTorrent runs once: to start a stopped (or failed) torrent again, this stops `t`
   * if need be and puts a new one in its place, made from the same source (with the metadata,
   * once known) and options. The new one is not started: `start()` is the caller's. With
   * `recheck`, it hashes all the data on disk instead of trusting the resume data.
   */
  async restart(t: ClientTorrent, options: { recheck?: boolean; change?: Partial<AddOptions> } = {}): Promise<ClientTorrent> {
    if (this.closing) throw new Error('client is closing');
    if (this.torrents.get(t.infoHashHex) !== t) throw new Error(`torrent ${t.infoHashHex} is not in this client`);
    await t.stop();
    if (this.torrents.get(t.infoHashHex) !== t) throw new Error(`torrent ${t.infoHashHex} was removed while stopping`);
    t.removeAllListeners();
    log('restarting %s%s', t.infoHashHex, options.recheck ? ' (recheck)' : '');
    return this.make(t.source, { ...t.options, ...options.change, recheck: options.recheck ?? false });
  }

  get(infoHashHex: string): ClientTorrent | undefined {
    return this.torrents.get(infoHashHex);
  }

  list(): ClientTorrent[] {
    return [...this.torrents.values()];
  }

  /** Stops a torrent and forgets it (its resume data too, when `forgetResume`). */
  async remove(t: ClientTorrent, options: { forgetResume?: boolean } = {}): Promise<void> {
    if (this.torrents.get(t.infoHashHex) !== t) return;
    await t.stop();
    this.torrents.delete(t.infoHashHex);
    if (options.forgetResume) await this.resume.remove(t.infoHashHex);
    this.emit('removed', t);
  }

  /** Stops every torrent (trackers told, resume saved) and the listener. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.torrents.values()].map((t) => t.stop()));
      await Promise.all([this.listener?.close(), this.udp.close()]);
      this.bandwidth.down.close();
      this.bandwidth.up.close();
    })();
    return this.closing;
  }
}

