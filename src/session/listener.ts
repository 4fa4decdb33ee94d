import { createServer, type Server, type Socket } from 'node:net';
import createDebug from 'debug';
import { acceptIncoming, classifyIncoming, makeInfoHashFinder, type EncryptionPolicy } from '../mse/index.js';
import { HANDSHAKE_LENGTH, decodeHandshake } from '../wire/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { Handshake } from '../peer/connection.js';
import { transportOf, type PeerStream, type Transport } from '../peer/stream.js';

const log = createDebug('pytor:session');

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Incoming sockets still handshaking at once; more are refused, so a flood costs little. */
const MAX_PENDING = 64;

/** Where an incoming handshake is sent: the session serving that info-hash, if any. */
export type IncomingRoute = (infoHashHex: string) =>
  | ((socket: PeerStream, address: PeerAddress, handshake: Handshake, rest: Buffer, transport: Transport) => void)
  | undefined;

export interface ListenerOptions {
  /** Protocol encryption: which incoming handshakes are taken (default: plain only, 'off'). */
  readonly encryption?: EncryptionPolicy;
  /** The info-hashes served now: an encrypted handshake names its torrent by a hash of one. */
  readonly infoHashes?: () => Iterable<Buffer>;
}

/**
 * Accepts peer connections on one TCP port, tells a plain BitTorrent handshake from an
 * obfuscated one (MSE/PE), reads the 68-byte handshake (after decrypting, for the latter) and
 * hands the stream to the session serving that torrent; anything else is closed.
 */
export class PeerListener {
  private server: Server | undefined;
  /** Sockets still handshaking: ours to close. Handed-off ones belong to their session. */
  private readonly pending = new Set<PeerStream>();
  port = 0;

  private readonly encryption: EncryptionPolicy;

  constructor(
    private readonly route: IncomingRoute,
    private readonly options: ListenerOptions = {},
  ) {
    this.encryption = options.encryption ?? 'off';
  }

  /**
   * Listens on `port`; when it is taken (or 0), on a free one. Returns the port in use.
   * Without a host: `::` dual-stack, so IPv4 and IPv6 peers reach the one socket (on a host
   * without IPv6, 0.0.0.0).
   */
  async listen(port: number, host?: string): Promise<number> {
    try {
      this.port = await this.tryListenAny(port, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
      this.port = await this.tryListenAny(0, host);
    }
    return this.port;
  }

  private async tryListenAny(port: number, host: string | undefined): Promise<number> {
    if (host !== undefined) return this.tryListen(port, host);
    try {
      return await this.tryListen(port, '::');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
      return this.tryListen(port, '0.0.0.0');
    }
  }

  /**
   * Stops listening and drops sockets still handshaking. Does not wait for connections already
   * handed to a session (net.Server's close callback would): those close with their session.
   */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    server?.close();
    return Promise.resolve();
  }

  private tryListen(port: number, host: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.once('error', reject);
      // ipv6Only false: a `::` socket takes IPv4 peers too (as ::ffff:a.b.c.d).
      server.listen({ port, host, ipv6Only: false }, () => {
        server.off('error', reject);
        server.on('error', (err) => log('listener error: %s', err.message));
        this.server = server;
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /**
   * A new incoming connection, TCP or uTP: its handshake is read (plain or obfuscated) and it
   * goes to the torrent it names, or is closed.
   */
  accept(socket: PeerStream & { readonly remoteAddress?: string; readonly remotePort?: number }): void {
    const host = socket.remoteAddress;
    const port = socket.remotePort;
    // Told to the session: an MSE stream over uTP no longer shows it.
    const transport = transportOf(socket);
    if (!host || !port || this.pending.size >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = () => {
      if (settled) return false;
      settled = true;
      this.pending.delete(socket);
      clearTimeout(timer);
      socket.off('data', onData);
      return true;
    };
    const drop = (why: string) => {
      if (!finish()) return;
      log('incoming %s:%d dropped: %s', host, port, why);
      socket.destroy();
    };
    const timer = setTimeout(() => drop('no handshake in time'), HANDSHAKE_TIMEOUT_MS);
    /** The plain handshake is complete in `bytes` (read from `stream`): route it or drop it. */
    const handshakeFrom = (stream: PeerStream, bytes: Buffer): boolean => {
      if (bytes.length < HANDSHAKE_LENGTH) return false;
      const result = decodeHandshake(bytes);
      if (result.kind !== 'handshake') {
        drop(result.kind === 'error' ? result.err.message : 'short handshake');
        return true;
      }
      const deliver = this.route(result.infoHash.toString('hex'));
      if (!deliver) {
        drop('unknown torrent');
        return true;
      }
      finish();
      stream.pause();
      deliver(stream, { host: normalizeHost(host), port }, result, bytes.subarray(result.consumed), transport);
      stream.resume();
      return true;
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const kind = classifyIncoming(buf, this.encryption);
      if (kind.kind === 'need-more') return;
      if (kind.kind === 'refuse') return drop(kind.err.message);
      if (kind.kind === 'plain') {
        handshakeFrom(socket, buf);
        return;
      }
      // Obfuscated (MSE/PE): the handshake machine reads the socket from here on.
      socket.off('data', onData);
      const first = buf;
      buf = Buffer.alloc(0);
      const finder = makeInfoHashFinder(this.options.infoHashes?.() ?? []);
      // MSE drives any socket-like Duplex (a uTP stream too).
      acceptIncoming(socket as Socket, first, { findInfoHash: finder, policy: this.encryption === 'require' ? 'require' : 'prefer', timeoutMs: HANDSHAKE_TIMEOUT_MS }).then(
        (accepted) => {
          let got = accepted.rest;
          let stream: PeerStream = accepted.socket;
          // Plaintext mode: only the handshake was obfuscated; the raw socket carries the rest.
          const raw = accepted.encrypted ? undefined : accepted.socket.detach();
          if (raw) {
            stream = raw.socket;
            if (raw.pending.length > 0) got = Buffer.concat([got, raw.pending]);
          }
          if (handshakeFrom(stream, got)) return;
          const more = (chunk: Buffer) => {
            got = Buffer.concat([got, chunk]);
            if (got.length > HANDSHAKE_LENGTH * 4) return drop('no handshake after the encryption handshake');
            if (handshakeFrom(stream, got)) stream.off('data', more);
          };
          stream.on('data', more);
          stream.resume();
        },
        (err: Error) => drop(`encryption: ${err.message}`),
      );
    };
    socket.on('data', onData);
    socket.on('error', () => drop('socket error'));
    socket.on('close', () => drop('closed'));
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) -> `1.2.3.4`. */
function normalizeHost(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}
