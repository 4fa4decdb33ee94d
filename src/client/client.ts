/**
 * The engine: many torrents in one process, one listening port for all of them (incoming
 * handshakes routed by info-hash), one peer id, and the state folder. Front ends (the CLI
 * commands, the daemon) add torrents and print what the events say; policy lives here and in
 * torrent.ts, never in a front end.
 *
 * Events: `added` (torrent), `metadata` (torrent), `complete` (torrent), `error` (torrent, err),
 * `removed` (torrent). Each ClientTorrent emits its own finer events (torrent.ts).
 */
import { EventEmitter } from 'node:events';
import createDebug from 'debug';
import type { Magnet } from '../magnet/index.js';
import type { Torrent } from '../metainfo/index.js';
import { TokenBucket } from '../session/bandwidth.js';
import { PeerListener } from '../session/listener.js';
import { makePeerId } from '../tracker/index.js';
import { ResumeStore } from './state-dir.js';
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
  /** Download limit in bytes per second across every torrent, peer and web seed (0 or absent: none). */
  readonly limitDown?: number;
  /** Upload limit in bytes per second across every torrent and peer (0 or absent: none). */
  readonly limitUp?: number;
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
  /** One token bucket per direction, shared by every session (rate 0: unlimited). */
  readonly bandwidth: { readonly down: TokenBucket; readonly up: TokenBucket };

  private constructor(
    readonly options: ClientOptions,
    private readonly listener: PeerListener | undefined,
    /** The port peers reach us on (0 when not listening). */
    readonly port: number,
  ) {
    super();
    this.peerId = options.peerId ?? makePeerId();
    this.resume = new ResumeStore(options.stateDir);
    this.now = options.now ?? Date.now;
    this.bandwidth = { down: new TokenBucket(options.limitDown ?? 0), up: new TokenBucket(options.limitUp ?? 0) };
  }

  static async open(options: ClientOptions): Promise<Client> {
    let client: Client | undefined;
    const route = (hex: string) => {
      const t = client?.torrents.get(hex);
      return t ? t.acceptIncoming.bind(t) : undefined;
    };
    const listener = options.listen === false ? undefined : new PeerListener(route);
    const port = listener ? await listener.listen(options.port, options.bind) : 0;
    client = new Client(options, listener, port);
    return client;
  }

  /** Adds a torrent and starts it; `torrent.start()`'s promise is the caller's to await. */
  add(source: { torrent: Torrent } | { magnet: Magnet }, options: AddOptions): ClientTorrent {
    if (this.closing) throw new Error('client is closing');
    const src: TorrentSource = source;
    const hex = 'torrent' in src ? src.torrent.infoHashHex : src.magnet.infoHashHex;
    if (this.torrents.has(hex)) throw new DuplicateTorrentError(hex);
    const t = new ClientTorrent(src, options, { peerId: this.peerId, port: () => this.port, resume: this.resume, now: this.now, bandwidth: this.bandwidth });
    this.torrents.set(hex, t);
    t.on('metadata', () => this.emit('metadata', t));
    t.on('complete', () => this.emit('complete', t));
    t.on('error', (err: Error) => this.emit('error', t, err));
    this.emit('added', t);
    log('added %s', hex);
    return t;
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
      await this.listener?.close();
      this.bandwidth.down.close();
      this.bandwidth.up.close();
    })();
    return this.closing;
  }
}
