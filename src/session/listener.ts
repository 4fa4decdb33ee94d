import { createServer, type Server, type Socket } from 'node:net';
import createDebug from 'debug';
import { HANDSHAKE_LENGTH, decodeHandshake } from '../wire/index.js';
import type { PeerAddress } from '../peer/address.js';
import type { Handshake } from '../peer/connection.js';

const log = createDebug('pytor:session');

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Incoming sockets still handshaking at once; more are refused, so a flood costs little. */
const MAX_PENDING = 64;

/** Where an incoming handshake is sent: the session serving that info-hash, if any. */
export type IncomingRoute = (infoHashHex: string) =>
  | ((socket: Socket, address: PeerAddress, handshake: Handshake, rest: Buffer) => void)
  | undefined;

/**
 * Accepts peer connections on one TCP port, reads the 68-byte handshake and hands the
 * socket to the session serving that torrent; anything else is closed.
 */
export class PeerListener {
  private server: Server | undefined;
  /** Sockets still handshaking: ours to close. Handed-off ones belong to their session. */
  private readonly pending = new Set<Socket>();
  port = 0;

  constructor(private readonly route: IncomingRoute) {}

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
      const server = createServer((socket) => this.onConnection(socket));
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

  private onConnection(socket: Socket): void {
    const host = socket.remoteAddress;
    const port = socket.remotePort;
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
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < HANDSHAKE_LENGTH) return;
      const result = decodeHandshake(buf);
      if (result.kind !== 'handshake') return drop(result.kind === 'error' ? result.err.message : 'short handshake');
      const deliver = this.route(result.infoHash.toString('hex'));
      if (!deliver) return drop('unknown torrent');
      finish();
      socket.pause();
      deliver(socket, { host: normalizeHost(host), port }, result, buf.subarray(result.consumed));
      socket.resume();
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
